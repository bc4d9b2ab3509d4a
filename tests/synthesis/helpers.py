"""Small builders shared by the synthesis tests."""

from synthesis.models import Backend, Direction, Rewrite


def make_rewrite(question, template, direction=None, source=None, text="A rewritten question?", generator="g"):
    """Store a rewrite row as a job would, with a minimal provenance."""
    direction = direction or (template.kind if template.attribute_id else Direction.ORIGINAL)
    return Rewrite.objects.create(
        question=question, attribute=template.attribute, direction=direction, source=source, text=text,
        template=template, model_name="tiny", backend=Backend.TRANSFORMERS, generator_key=generator,
        prompt_hash="h", request={"messages": []},
    )


def make_triple(question, attribute_key, ranks=None, generator="g"):
    """Store an original, an enhanced and a corrupted text (and a judge ranking when given); build its pairs."""
    from synthesis.actions import do_build_pairs
    from synthesis.configs import PairConfig
    from synthesis.models import PromptTemplate, Verification

    def active(kind, key=None):
        return PromptTemplate.objects.get(kind=kind, attribute__key=key, status="active") if key else \
            PromptTemplate.objects.get(kind=kind, attribute=None, status="active")

    original = Rewrite.objects.filter(question=question, direction=Direction.ORIGINAL).first() or make_rewrite(
        question, active("normalize"), text="Did you notice any change in vision before the pain?",
        generator=generator)
    enhanced = make_rewrite(question, active("enhance_hindsight", attribute_key), source=original,
                            text="Before the headache starts, do you see flashing lights or zigzag lines?",
                            generator=generator)
    corrupted = make_rewrite(question, active("corrupt", attribute_key), source=original,
                             text="Anything with your eyes or whatever <b>maybe</b>?", generator=generator)
    if ranks is not None:
        Verification.objects.create(
            question=question, attribute=enhanced.attribute, enhanced=enhanced, original=original,
            corrupted=corrupted, status="ranked", ranks=ranks, order=["enhanced", "original", "corrupted"],
            template=active("judge"), judge_model="judge-model", backend=Backend.OPENAI_HTTP, judge_key="j",
            prompt_hash="h", replies=[{"text": "{}"}])
    do_build_pairs(PairConfig(qids=[question.qid]))
    return original, enhanced, corrupted
