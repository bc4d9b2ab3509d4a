"""The paper's comparisons as one-click presets: the form opens with the method, version and attribute chosen."""

import pytest
from django.urls import reverse

from training.presets import PRESETS, fusion_initial, preset_initial

from .conftest import train

pytestmark = pytest.mark.django_db


def test_a_per_attribute_preset_picks_a_fine_grained_version_and_one_attribute(pairs):
    assert preset_initial(PRESETS["dpo-per-attribute"]) == {"dataset_version": pairs.pk, "attributes": ["clarity"]}
    assert preset_initial(PRESETS["dpo-data-mixing"]) == {"dataset_version": pairs.pk}
    assert preset_initial(PRESETS["dpo-coarse"]) == {}, "the fine-grained version is no coarse one"


def test_sft_presets_tell_real_from_synthetic_versions(sft_version):
    assert preset_initial(PRESETS["sft-real"]) == {"dataset_version": sft_version.pk}
    assert preset_initial(PRESETS["sft-synthetic"]) == {}


def test_dpo_presets_start_from_the_newest_sft_model_as_the_authors_did(pairs, sft_version, tiny_model_dir):
    sft = train("sft", sft_version, tiny_model_dir, name="sft-real")
    assert preset_initial(PRESETS["dpo-data-mixing"])["base_model"] == sft.trained_model.name


def test_the_preset_page_opens_the_form_of_its_method(client_for, lead, pairs):
    page = client_for(lead).get(reverse("training:run-new") + "?preset=rm-per-attribute").content.decode()
    assert "Reward model on one attribute" in page and 'name="method" value="rm"' in page
    assert f'<option value="{pairs.pk}" selected>' in page


def test_the_fusion_preset_fills_the_merge_form_with_each_attribute_newest_model(client_for, lead, pairs,
                                                                               tiny_model_dir):
    for attribute in ("focus", "clarity"):
        train("dpo", pairs, tiny_model_dir, attributes=[attribute], name=f"dpo-{attribute}")
    train("dpo", pairs, tiny_model_dir, name="mixing")
    assert fusion_initial() == {"models": "dpo-clarity, dpo-focus", "name": "pairs-v1-fusion"}
    page = client_for(lead).get(reverse("training:models") + "?preset=fusion").content.decode()
    assert 'value="dpo-clarity, dpo-focus"' in page
