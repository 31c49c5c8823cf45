"""The word tables of the guard: the only rewordings a paraphrase may make.

Every table here is a whitelist. A word not in it is compared exactly, so growing a
table is the one way to let more paraphrases through, and each entry must be a pair
that never changes an answer: when in doubt, leave it out (a refused paraphrase costs
one provider call; a wrong entry serves another question's answer). Small words that
change meaning (all/some, from/to, before/after, can/must, and/or, with/without,
pronouns, articles) are in no table: they are compared like any other word.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Requests a caller may soften with "can you", "could you please"…: the softened
#: request asks the same. (Not "tell": "can you tell if…" asks something else.)
IMPERATIVES = _words(
    """explain describe summarize summarise translate define compare list write give
    show find calculate compute convert name provide suggest create make generate help
    recommend outline identify classify extract rewrite rephrase correct proofread
    simplify solve evaluate check fix sort count draft compose"""
)

#: Words whose capital at the start of a sentence carries no meaning, so "What is" =
#: "what is". A capitalised word not listed here keeps its case wherever it stands
#: ("Turkey" is not "turkey", "Polish" is not "polish"); so do ``CO``, ``Mb`` or ``mW``.
#: Words that are also common names or months (will, may, march, bill, mark) are left out.
OPENERS = IMPERATIVES | _words(
    """a an the this that these those there here it its me my we our you your he she
    they them their what who whom whose which when where why how is are was were be
    been am do does did can could would should shall might must has have had please
    kindly hi hello hey dear thanks thank in on at of for to from by with without about
    as and or but if so then also just again another some any all each every no not
    yes okay ok tell let lets whats hows wheres whos thats heres theres its whether
    briefly quickly simply approximately roughly exactly"""
)

#: Contractions, spelt out (lower case, straight apostrophe). ``'s`` only after the
#: words where it means "is" ("John's" is a possessive and stays as it is); ``'d`` is
#: "had" or "would", so it is never spelt out.
CONTRACTIONS: dict[str, tuple[str, ...]] = {
    "can't": ("can", "not"),
    "cannot": ("can", "not"),
    "won't": ("will", "not"),
    "shan't": ("shall", "not"),
    "let's": ("let", "us"),
}
IS_CONTRACTED = _words("what where who how when why that there here it he she this")
SUFFIXES: dict[str, str] = {"n't": "not", "'re": "are", "'ve": "have", "'ll": "will"}

#: Leading and trailing courtesies, dropped only where they are plainly courtesies:
#: "please"/"kindly" before a request verb, a greeting set off by punctuation ("Hi, …";
#: "Hello in French" asks for a word), "could you (please)" before a request verb, and
#: "…, thanks" set off at the end. Never inside a prompt ("how to please my boss").
POLITE = _words("please kindly")
GREETINGS = _words("hi hello hey")
SOFTENERS = _words("can could would")
#: Request verbs a softener does not just soften ("would you recommend X?" asks an opinion).
NOT_SOFTENED = _words("recommend")
THANKS: tuple[tuple[str, ...], ...] = (("thanks",), ("thank", "you"), ("thx",), ("please",))
#: After these, a trailing "please" is the thing asked about ("how do you say please").
NOT_COURTESY = _words("say saying said spell word translate define mean means to and or of with is")

#: Question openers asking the same thing: "how do I", "how can I", "how to". Not "how
#: do you" ("how do you feel?" asks the assistant), and not before verbs that ask for a
#: view ("how do I look?").
HOW_TO: tuple[tuple[str, ...], ...] = (
    ("how", "do", "I"),
    ("how", "can", "I"),
    ("how", "does", "one"),
    ("how", "can", "one"),
    ("how", "to"),
)
OPINION_VERBS = _words("feel think like know mean love hate prefer look sound seem")

#: Verbs after which "into" means "to" ("translate X into Spanish").
INTO_VERBS = _words("translate convert")

#: Small numbers spelt out ("one" is left out: "which one", "one of them").
NUMBER_WORDS: dict[str, str] = {
    w: str(n)
    for n, w in enumerate(
        [
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ],
        start=2,
    )
}

#: Words that make a prompt about words themselves ("how do you spell colour", "how many
#: letters in three", "a synonym for largest"): there, no spelling, synonym or number is
#: rewritten, since the word as written is what is asked about.
ABOUT_WORDS = _words(
    """spell spelling spelled spelt spellings letter letters character characters
    anagram anagrams rhyme rhymes rhyming syllable syllables pronounce pronounced
    pronunciation word words british american vowel vowels consonant consonants
    palindrome palindromes alphabetical alphabetically capitalize capitalise uppercase
    lowercase abbreviation acronym synonym synonyms antonym antonyms plural singular
    hyphen hyphenate hyphenated etymology"""
)

#: Synonyms that never change an answer, each to one canonical word.
SYNONYMS: dict[str, str] = {
    "an": "a",
    "purchase": "buy",
    "utilize": "use",
    "utilise": "use",
    "assist": "help",
    "automobile": "car",
    "petrol": "gasoline",
    "couch": "sofa",
    "larger": "bigger",
    "largest": "biggest",
    "okay": "ok",
}

#: UK spellings whose US twin no suffix rule below finds.
UK_US: dict[str, str] = {
    "travelled": "traveled",
    "travelling": "traveling",
    "traveller": "traveler",
    "travellers": "travelers",
    "modelled": "modeled",
    "modelling": "modeling",
    "cancelled": "canceled",
    "cancelling": "canceling",
    "labelled": "labeled",
    "labelling": "labeling",
    "fuelled": "fueled",
    "signalled": "signaled",
    "signalling": "signaling",
    "levelled": "leveled",
    "counselling": "counseling",
    "jewellery": "jewelry",
    "grey": "gray",
    "aluminium": "aluminum",
    "defence": "defense",
    "offence": "offense",
    "licence": "license",
    "pretence": "pretense",
    "practise": "practice",
    "sceptical": "skeptical",
    "mould": "mold",
    "plough": "plow",
    "doughnut": "donut",
    "ageing": "aging",
    "judgement": "judgment",
    "acknowledgement": "acknowledgment",
    "enrol": "enroll",
    "fulfil": "fulfill",
    "skilful": "skillful",
    "artefact": "artifact",
    "artefacts": "artifacts",
    "anaemia": "anemia",
    "paediatric": "pediatric",
    "oestrogen": "estrogen",
    "manoeuvre": "maneuver",
    "encyclopaedia": "encyclopedia",
}
#: Stems spelt -our in the UK and -or in the US (colour, favourite, honourable…).
OUR_STEMS = _words(
    """col fav hon lab behavi neighb flav hum rum harb vap arm od rig vig sav endeav tum
    splend cand clam glam parl"""
)
