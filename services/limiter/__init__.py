"""The global rate-limiter service. Not built yet: it is the subject of issue 3.

The folder exists so that the layout (one folder per container) is final; nothing here
pretends to limit anything.
"""
