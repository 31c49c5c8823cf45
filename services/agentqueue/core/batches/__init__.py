"""The batch path: ``completion`` tasks answered by the providers' batch APIs at half price.

A worker with the batch path on hands each eligible task's one request to the collector
(``collector.py``) instead of calling online; the task's queue message is acked, and the
task is owned by the batch records in Redis until a result is applied to it exactly once
(``processor.py``). The providers' SDK calls are in ``backends.py``, batch prices in
``pricing.py``, the Redis layout in ``layout.py``. Multi-step agents stay online: each of
their steps needs the previous answer, and a window of up to 24 h per step is unusable.
"""
