from django import forms

from engine.files import MAX_TOTAL_BYTES


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(help_text="One .py file, several files (a script and its text files), or one .zip.")

    def clean_files(self):
        # Checked on the sizes Django reports, before any file is read into memory.
        files = self.cleaned_data["files"]
        for upload in files:
            if upload.size > MAX_TOTAL_BYTES:
                raise forms.ValidationError(f"{upload.name} is {upload.size} bytes; the limit is {MAX_TOTAL_BYTES}.")
        if sum(upload.size for upload in files) > MAX_TOTAL_BYTES:
            raise forms.ValidationError(f"the files add up to more than {MAX_TOTAL_BYTES} bytes.")
        return files

    entry_point = forms.CharField(
        required=False, max_length=255, help_text="Only if you send several .py files and none is main.py."
    )


class OverrideForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        error_messages={"required": "an override needs a reason."},
    )

    def __init__(self, *args, max_score: int, **kwargs):
        super().__init__(*args, **kwargs)
        # Bounded here, so that a score too large for the database is a form error, not a 500.
        bounds = f"the score must be between 0 and {max_score}."
        self.fields["score"] = forms.IntegerField(
            min_value=0,
            max_value=max_score,
            error_messages={
                "required": "a score is needed.",
                "invalid": "the score must be a whole number.",
                "min_value": bounds,
                "max_value": bounds,
            },
        )
        self.order_fields(["score", "reason"])

    def error_text(self) -> str:
        return " ".join(e for errors in self.errors.values() for e in errors)


class RerunForm(forms.Form):
    kind = forms.ChoiceField(choices=[("recheck", "Re-run checks"), ("reexecute", "Re-execute scripts")])
    student = forms.IntegerField(required=False)


class AssignmentSettingsForm(forms.ModelForm):
    class Meta:
        from submissions.models import Assignment

        model = Assignment
        fields = ["deadline", "late_policy", "late_penalty_percent", "counting", "max_submissions", "max_per_hour"]
        widgets = {"deadline": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}

    def clean_late_penalty_percent(self):
        value = self.cleaned_data["late_penalty_percent"]
        if value > 100:
            raise forms.ValidationError("A penalty is at most 100%.")
        return value


class PackageUploadForm(forms.Form):
    package = forms.FileField(help_text="A .zip of the package folder (assignment.toml at its top or in one folder).")

    def clean_package(self):
        from engine.package_store import MAX_ARCHIVE_BYTES

        # Checked on the size Django reports, before the file is read into memory.
        upload = self.cleaned_data["package"]
        if upload.size > MAX_ARCHIVE_BYTES:
            raise forms.ValidationError(f"{upload.name} is {upload.size} bytes; the limit is {MAX_ARCHIVE_BYTES}.")
        return upload
