"""The one rendering of a question's conversation into model input, with versioned system prompts.

Training, synthesis, annotation pages, dataset exports and evaluation all call `render_messages`, and every
artefact records the `RenderingVersion.key` it used. The authors trained on title and post only and evaluated on the
whole thread (method.md §3.7); here both are explicit versions, and the default keeps the earlier turns.
"""

from dataclasses import dataclass

DOCTOR_SYSTEM_PROMPT = (
    "You are a medical doctor trying to interact with the patient to get more information before making a clinical "
    "decision. Draw on basic and clinical science and current guidelines, and ask a follow-up question. You are given "
    "the patient's initial information and their inquiry. Your question must be bite-sized: do not ask for too much "
    "at once and do not repeat what was already asked. Reply with the atomic question and nothing else."
)


@dataclass(frozen=True)
class RenderingVersion:
    key: str
    system_prompt: str
    include_turns: bool
    description: str


RENDERINGS = {
    version.key: version
    for version in (
        RenderingVersion("thread-v1", DOCTOR_SYSTEM_PROMPT, True,
                         "Doctor system prompt; title and post, then the thread's earlier question/answer turns."),
        RenderingVersion("thread-nosys-v1", "", True,
                         "No system message; title and post, then the earlier turns."),
        RenderingVersion("post-nosys-v1", "", False,
                         "The authors' training input: title and post only, no system message (method.md §3.7)."),
        RenderingVersion("external", "", True, "Prompts exactly as an imported dataset gave them."),
    )
}
DEFAULT_RENDERING = "thread-v1"


def get_rendering(key: str = DEFAULT_RENDERING) -> RenderingVersion:
    """Return the rendering version named `key`, or raise ValueError naming the known ones."""
    try:
        return RENDERINGS[key]
    except KeyError:
        raise ValueError(f"Unknown rendering {key!r}; known: {', '.join(sorted(RENDERINGS))}.") from None


def conversation_messages(title: str, body: str, previous_turns: list[dict] | None) -> list[dict]:
    """Return the patient's post as a user turn, then each earlier doctor question and patient answer."""
    messages = [{"role": "user", "content": f"{title}\n{body}".strip()}]
    for turn in previous_turns or []:
        messages.append({"role": "assistant", "content": (turn.get("question") or "").strip()})
        messages.append({"role": "user", "content": (turn.get("patient_answer") or "").strip()})
    return messages


def render_messages(conversation: list[dict], rendering: str = DEFAULT_RENDERING) -> list[dict]:
    """Return the chat messages a policy sees for `conversation` (from `conversation_messages`) under `rendering`."""
    version = get_rendering(rendering)
    messages = list(conversation) if version.include_turns else list(conversation[:1])
    if version.system_prompt:
        messages.insert(0, {"role": "system", "content": version.system_prompt})
    return messages


SPEAKERS = {"system": "Instructions", "user": "Patient", "assistant": "Doctor"}


def render_text(messages: list[dict]) -> str:
    """Return rendered messages as one plain-text prompt (for TRL's standard format), ending where the doctor asks."""
    lines = [f"{SPEAKERS.get(m['role'], m['role'])}: {m['content']}" for m in messages]
    return "\n\n".join([*lines, f"{SPEAKERS['assistant']}:"])
