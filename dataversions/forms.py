"""The "new version" form: a dataset name and description, then one field per `Selection` option."""

from dataclasses import MISSING, fields

from django import forms

from annotation.models import BenchmarkRelease, Campaign
from corpus.rendering import RENDERINGS
from synthesis.models import Attribute, PairType

from .models import Dataset, DatasetKind
from .selection import PAIR_TYPES, SPLITS, Selection

# Where a Selection field's choices come from; the form's fields are otherwise derived from the dataclass alone.
CHOICES = {
    "kind": lambda: DatasetKind.choices,
    "attributes": lambda: [(a.key, f"{a.name} ({a.group})") for a in Attribute.objects.all()],
    "pair_types": lambda: [(value, PairType(value).label) for value in PAIR_TYPES],
    "campaigns": lambda: [(str(c.pk), c.name) for c in Campaign.objects.order_by("name")],
    "release": lambda: [("", "none: the imported cases"),
                        *((name, name) for name in BenchmarkRelease.objects.values_list("name", flat=True))],
    "splits": lambda: [(split, split) for split in SPLITS],
    # "external" names prompts an import brought; a version built here always renders its own.
    "rendering": lambda: [(key, f"{key}: {r.description}") for key, r in RENDERINGS.items() if key != "external"],
    **{name: (lambda allowed=allowed: [(value, value) for value in allowed]) for name, allowed in
       Selection.CHOICES.items()},
}
HELP = {"kind": "What the rows are: preference pairs, SFT examples, expert judgments or interactive QA cases."}


def default_of(field) -> object:
    return field.default if field.default is not MISSING else field.default_factory()


def shown_default(value) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) or "none ticked"
    return str(value) or "none"


def selection_field(field) -> forms.Field:
    """Return the form field of one Selection option, chosen by its default's type and whether it has choices.

    Tuples are checkboxes; a string with fixed choices is radios, or a list when it is optional (its choices come
    from the database); any other string is text; numbers are whole numbers.
    """
    default = default_of(field)
    help_text = field.metadata.get("help", HELP.get(field.name, ""))
    label = field.name.replace("_", " ").capitalize()
    if isinstance(default, tuple):
        form_field = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False,
                                               initial=list(default))
    elif isinstance(default, str) and field.name in CHOICES:
        form_field = forms.ChoiceField(widget=forms.RadioSelect if default else forms.Select,
                                       required=bool(default), initial=str(default))
    elif isinstance(default, str):
        form_field = forms.CharField(required=False, initial=default)
    else:
        form_field = forms.IntegerField(min_value=0, initial=default)
    form_field.label, form_field.help_text = label, help_text
    form_field.default_shown = shown_default(default)  # the template prints it beside the help
    return form_field


class VersionForm(forms.Form):
    """Create a version of a (new or existing) dataset from a filter; the filter is checked by Selection itself."""

    name = forms.SlugField(max_length=100, help_text="Dataset name (letters, digits, - and _); created when new, "
                                                     "else the next version of it.")
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
                                  help_text="Shown on the dataset card; only used when the dataset is new.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in fields(Selection):
            self.fields[field.name] = selection_field(field)
            if field.name in CHOICES:
                self.fields[field.name].choices = CHOICES[field.name]()
        self.dataset_names = list(Dataset.objects.values_list("name", flat=True))
        self.fields["name"].widget.attrs["list"] = "dataset-names"  # offers the existing datasets

    def selection_fields(self) -> list:
        return [self[field.name] for field in fields(Selection)]

    def selection(self) -> dict:
        """Return the cleaned options as the dict `do_create_version` takes (campaign ids as numbers)."""
        data = {field.name: self.cleaned_data[field.name] for field in fields(Selection)}
        data["campaigns"] = [int(pk) for pk in data["campaigns"]]
        return data


def initial_from(selection: dict, name: str = "", description: str = "") -> dict:
    """Return form initial values that repeat a saved filter (for "new version from this one")."""
    initial = {"name": name, "description": description}
    for key, value in selection.items():
        initial[key] = [str(v) for v in value] if isinstance(value, list) else value
    return initial
