"""Forms of the corpus pages: the thread-list filters and the import upload."""

from typing import Any, cast
from urllib.parse import urlencode

from django import forms

from .importers import FORMATS
from .models import QuestionType, Split

ANY = [("", "any")]
YES_NO = [("", "any"), ("true", "yes"), ("false", "no")]
MAX_SEARCH_LENGTH = 200


def to_bool(value: str) -> bool:
    return value == "true"


class ThreadFilterForm(forms.Form):
    """The thread list's search box and filters; the API accepts the same parameter names."""

    q = forms.CharField(required=False, max_length=MAX_SEARCH_LENGTH, label="Search")
    split = forms.ChoiceField(required=False, choices=ANY + Split.choices)
    question_type = forms.ChoiceField(required=False, choices=ANY + QuestionType.choices, label="Question type")
    diagnosis = forms.TypedChoiceField(
        required=False, choices=YES_NO, coerce=to_bool, empty_value=None, label="Final diagnosis"
    )
    credentialed = forms.TypedChoiceField(
        required=False, choices=YES_NO, coerce=to_bool, empty_value=None, label="Credentialed author"
    )

    def filters(self) -> dict[str, Any]:
        """Return the valid filters as keyword arguments of search.filter_threads (invalid ones are dropped)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) for name in self.fields if name in data}

    def selects(self) -> list[dict[str, Any]]:
        """Return the choice filters as plain dicts; the list page renders them without widget templates (faster)."""
        return [
            {"name": name, "label": self.fields[name].label or name.capitalize(), "value": self.data.get(name, ""),
             "choices": cast(forms.ChoiceField, self.fields[name]).choices}
            for name in ("split", "question_type", "diagnosis", "credentialed")
        ]

    def query_string(self) -> str:
        """Return the filters as a query string for pager links, without the page position."""
        return urlencode({name: self.data[name] for name in self.fields if self.data.get(name)})


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field taking several files at once (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:  # a list of files
        clean_one = super().clean
        if isinstance(data, list | tuple) and data:
            return [clean_one(item, initial) for item in data]
        return [clean_one(data or None, initial)]  # no file: the single-file check says "required"


SPLIT_CHOICES = [("", "importer default"), *Split.choices]


class ImportForm(forms.Form):
    """Upload one or more corpus files to import as a background job."""

    # a declared field (the metaclass moves it off the class), not BaseForm.files
    files = MultipleFileField(label="Files (JSONL, plain or gzip)")  # type: ignore[assignment]
    format = forms.ChoiceField(choices=FORMATS, initial="auto")
    split = forms.ChoiceField(required=False, choices=SPLIT_CHOICES)
