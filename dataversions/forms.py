"""The "new version" form: a dataset name and description, then the `Selection` options (built by jobs.configs)."""

from typing import TYPE_CHECKING, Any, cast

from django import forms

from annotation.models import BenchmarkRelease, Campaign
from jobs.configs import config_form_class, flat_options
from synthesis.models import Attribute

from .models import Dataset
from .selection import Selection

if TYPE_CHECKING:  # mypy takes no call as a base class; the class config_form_class builds derives from this
    from jobs.configs.forms import ConfigForm as SelectionFormBase
else:
    SelectionFormBase = config_form_class(Selection)


class VersionForm(SelectionFormBase):
    """Create a version of a (new or existing) dataset from a filter; `config()` is the checked Selection."""

    name = forms.SlugField(max_length=100, help_text="Dataset name (letters, digits, - and _); created when new, "
                                                     "else the next version of it.")
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
                                  help_text="Shown on the dataset card; only used when the dataset is new.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offer_choices("attributes", [(a.key, f"{a.name} ({a.group})") for a in Attribute.objects.all()])
        self.offer_choices("campaigns", list(Campaign.objects.order_by("name").values_list("pk", "name")))
        self.offer_choices("release", [("", "none: the imported cases"), *(
            (name, name) for name in BenchmarkRelease.objects.values_list("name", flat=True))])
        for option in flat_options(Selection):
            if option.choices and not option.is_list:  # a handful of fixed values: all in sight, one click each
                choices = cast(forms.ChoiceField, self.fields[option.name]).choices
                # the stub types ChoiceField.choices as all its setter takes; it reads back as the list of pairs
                self.fields[option.name].widget = forms.RadioSelect(choices=choices)  # type: ignore[arg-type]
        self.dataset_names = list(Dataset.objects.values_list("name", flat=True))
        self.fields["name"].widget.attrs["list"] = "dataset-names"  # offers the existing datasets

    def selection_fields(self) -> list:
        return [self[option.name] for option in flat_options(Selection)]


def initial_from(selection: dict, name: str = "", description: str = "") -> dict:
    """Return form initial values that repeat a saved filter (for "new version from this one")."""
    return {"name": name, "description": description, **selection}
