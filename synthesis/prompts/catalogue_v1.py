"""Version 1 of the attribute catalogue and its prompts, in the project's own words; frozen (add a v2 to change)."""

from collections.abc import Iterator
from typing import Any

# Loaded by migration 0002. Never edit: a change here would silently differ from what that migration wrote.
ATTRIBUTES = [
    {
        "key": "clarity", "name": "Clarity", "group": "general", "order": 1,
        "definition": (
            "How easily the patient can tell what the question asks. A clear question has one reading, names "
            "what it asks about, and gives enough detail without needless complexity or jargon."
        ),
        "scale": ["Very ambiguous", "Somewhat ambiguous", "Neither ambiguous nor clear", "Somewhat clear",
                  "Very clear"],
        "guidance": (
            "Things that move clarity: a specific time frame (\"since Monday\") instead of a loose one "
            "(\"recently\"); one question at a time instead of a compound question; everyday words instead of "
            "medical terms a lay reader may not know; a concrete referent instead of \"it\" or \"that\"."
        ),
        "positive_terms": ["clear", "clarity", "unambiguous"],
        "negative_terms": ["ambiguous", "ambiguity", "vague", "unclear"],
    },
    {
        "key": "focus", "name": "Focus", "group": "general", "order": 2,
        "definition": (
            "Whether the question targets one symptom, situation or concern at a useful grain: neither so broad "
            "that the patient does not know where to start, nor so narrow that it misses the point, and not "
            "asking for many things at once."
        ),
        "scale": ["Very broad", "Somewhat broad", "Neither broad nor focused", "Somewhat focused", "Very focused"],
        "guidance": (
            "Compare \"How is your breathing?\" with \"Do you get short of breath climbing one flight of "
            "stairs?\", or \"How is your sleep?\" with \"Do you wake up rested?\". The second of each pair points "
            "the patient at one observable thing."
        ),
        "positive_terms": ["focused", "focus"],
        "negative_terms": ["broad", "unfocused"],
    },
    {
        "key": "answerability", "name": "Answerability", "group": "general", "order": 3,
        "definition": (
            "Whether a lay person could answer the question from their own experience and the situation, for "
            "example by reporting what they notice, rather than needing medical knowledge or tests they do not have."
        ),
        "scale": ["Very unanswerable", "Somewhat unanswerable", "Neither unanswerable nor answerable",
                  "Somewhat answerable", "Very answerable"],
        "guidance": (
            "\"Is your thyroid function normal?\" needs a lab result the patient may not have; \"Have you "
            "noticed feeling cold, tired or gaining weight?\" asks about what the patient can observe."
        ),
        "positive_terms": ["answerable", "answerability"],
        "negative_terms": ["unanswerable"],
    },
    {
        "key": "accuracy", "name": "Medical accuracy", "group": "clinical", "order": 4,
        "definition": (
            "Whether the question, including any hypothesis or assumption built into it, agrees with sound "
            "medical knowledge and with what the patient has said."
        ),
        "scale": ["Very inaccurate", "Somewhat inaccurate", "Neither inaccurate nor accurate", "Somewhat accurate",
                  "Very accurate"],
        "guidance": (
            "Check the premises: a question can carry a wrong link between a symptom and a cause, misstate a "
            "detail of the post, or suggest a test or timeline that does not fit the condition in mind."
        ),
        "positive_terms": ["accurate", "accuracy", "medical accuracy"],
        "negative_terms": ["inaccurate", "inaccuracy"],
    },
    {
        "key": "relevance", "name": "Diagnostic relevance", "group": "clinical", "order": 5,
        "definition": (
            "Whether the answer to the question would help confirm or rule out specific diagnoses for this "
            "patient, without collecting details that change nothing."
        ),
        "scale": ["Very irrelevant", "Somewhat irrelevant", "Neither irrelevant nor relevant", "Somewhat relevant",
                  "Very relevant"],
        "guidance": (
            "Ask what each possible answer would change: a question whose every answer leaves the differential "
            "where it was adds little; one whose answers separate likely conditions adds a lot."
        ),
        "positive_terms": ["relevant", "relevance", "diagnostic relevance"],
        "negative_terms": ["irrelevant", "irrelevance"],
    },
    {
        "key": "avoidbias", "name": "Avoiding diagnostic bias", "group": "clinical", "order": 6,
        "definition": (
            "Whether the question keeps several plausible diagnoses open and invites information that could "
            "support any of them, rather than steering the patient toward a single favoured explanation."
        ),
        "scale": ["Very limited exploration", "Limited exploration", "Neutral", "Encouraging exploration",
                  "Highly encouraging exploration"],
        "guidance": (
            "Biases to watch: anchoring on the first impression, favouring what comes to mind easily, seeking "
            "only confirming evidence, and stopping the search too early. Open questions about other symptoms "
            "and timelines keep alternatives in view; leading yes/no questions about one condition narrow it."
        ),
        "positive_terms": ["exploration", "alternative diagnoses", "balanced", "diagnostic bias"],
        "negative_terms": ["confirmation bias", "anchoring", "premature closure", "leading question"],
    },
    {
        "key": "overall", "name": "Overall usefulness", "group": "coarse", "order": 7,
        "definition": (
            "The coarse control: how useful the question is, all things considered, for understanding the "
            "patient's case and deciding what to do next."
        ),
        "scale": ["Not useful", "Slightly useful", "Moderately useful", "Very useful", "Extremely useful"],
        "guidance": "",
        "positive_terms": ["useful", "usefulness"],
        "negative_terms": ["useless"],
    },
]

REWRITE_SYSTEM = (
    "You are a medical assistant helping researchers study what makes a clinician's follow-up question good. "
    "You rewrite one question from an online medical forum into a counterfactual variant that changes a single "
    "property and keeps everything else the same."
)

CONTEXT_BLOCK = """***PATIENT POST***
Title: {title}
{post}

***EARLIER QUESTIONS AND ANSWERS***
{previous_turns}

***CLINICIAN QUESTION***
{question}
"""

ATTRIBUTE_BLOCK = """{attribute_name}: {definition}
Levels, worst (1) to best (5):
{scale}
{guidance}
"""

CLOSING = (
    "Keep the topic, intent, tone and length as close to the original as you can. The rewrite must stay realistic: "
    "something a clinician could actually ask this patient. Return only the rewritten question, with no preamble."
)

ENHANCE_USER = (
    CONTEXT_BLOCK
    + "\n***INSTRUCTION***\nRewrite the clinician question so that it rates higher on {attribute_name}, "
    "ideally at level 5, while keeping everything else constant.\n"
    + ATTRIBUTE_BLOCK + "\n" + CLOSING + "\n\n***REWRITTEN QUESTION***\n"
)

HINDSIGHT_BLOCK = """
***OUTCOME OF THE THREAD (HINDSIGHT)***
Final diagnosis: {final_diagnosis}
Conclusion: {conclusion}
Think like an experienced doctor who knows how the case turned out: use the outcome to judge what a strong \
question would have explored, but do not reveal or name the diagnosis in the question.
"""

ENHANCE_HINDSIGHT_USER = (
    CONTEXT_BLOCK
    + "\n***INSTRUCTION***\nRewrite the clinician question so that it rates higher on {attribute_name}, "
    "ideally at level 5, while keeping everything else constant.\n"
    + ATTRIBUTE_BLOCK + HINDSIGHT_BLOCK + "\n" + CLOSING + "\n\n***REWRITTEN QUESTION***\n"
)

CORRUPT_USER = (
    CONTEXT_BLOCK
    + "\n***INSTRUCTION***\nRewrite the clinician question so that it rates lower on {attribute_name}, "
    "at level 1 or 2, while keeping everything else constant.\n"
    + ATTRIBUTE_BLOCK + "\n" + CLOSING + "\n\n***REWRITTEN QUESTION***\n"
)

REWRITE_PLACEHOLDERS = ["title", "post", "previous_turns", "question", "attribute_name", "definition", "scale",
                        "guidance"]

NORMALIZE_SYSTEM = "You help a clinician communicate clearly with patients on an online medical forum."
NORMALIZE_USER = """# Instruction
The question below was extracted from a doctor's reply to a patient's post. Rewrite it as one standalone question \
that a reader understands without the rest of the reply, with the same meaning, scope and voice. Do not answer it \
and do not add new content. Return only the question.

# Patient post
Title: {title}
{post}

# Earlier questions and answers
{previous_turns}

# Doctor reply
{comment}

# Extracted question
{question}

# Standalone question
"""
NORMALIZE_PLACEHOLDERS = ["title", "post", "previous_turns", "comment", "question"]

JUDGE_SYSTEM = "You are an experienced physician who rates the follow-up questions clinicians ask patients."
JUDGE_USER = """***PATIENT POST***
Title: {title}
{post}

***EARLIER QUESTIONS AND ANSWERS***
{previous_turns}

***CANDIDATE FOLLOW-UP QUESTIONS***
A: {candidate_a}
B: {candidate_b}
C: {candidate_c}

***TASK***
Rank the three candidates on {attribute_name} only, ignoring every other quality.
{attribute_name}: {definition}
Levels, worst (1) to best (5):
{scale}

Give rank 1 to the best candidate. Candidates that are equally good share a rank. Reply with JSON only, in \
exactly this form: {{"ranks": {{"A": 1, "B": 2, "C": 3}}}}
"""
JUDGE_PLACEHOLDERS = ["title", "post", "previous_turns", "candidate_a", "candidate_b", "candidate_c",
                      "attribute_name", "definition", "scale"]
# The judge's reply is continued from this prefix where the endpoint allows it (more replies parse).
JUDGE_PREFILL = '{"ranks": {"A": '


def templates() -> Iterator[dict[str, Any]]:
    """Yield the v1 templates as dicts: per attribute enhance, enhance_hindsight, corrupt; then the shared ones."""
    for attribute in ATTRIBUTES:
        for kind, user_text, extra in (
            ("enhance", ENHANCE_USER, []),
            ("enhance_hindsight", ENHANCE_HINDSIGHT_USER, ["final_diagnosis", "conclusion"]),
            ("corrupt", CORRUPT_USER, []),
        ):
            yield {"kind": kind, "attribute": attribute["key"], "system_text": REWRITE_SYSTEM,
                   "user_text": user_text, "placeholders": REWRITE_PLACEHOLDERS + extra}
    yield {"kind": "normalize", "attribute": None, "system_text": NORMALIZE_SYSTEM, "user_text": NORMALIZE_USER,
           "placeholders": NORMALIZE_PLACEHOLDERS}
    yield {"kind": "judge", "attribute": None, "system_text": JUDGE_SYSTEM, "user_text": JUDGE_USER,
           "placeholders": JUDGE_PLACEHOLDERS}
