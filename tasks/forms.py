"""The replication instance form."""

from __future__ import annotations

from django import forms

from .models import ReplicationInstance


class ReplicationInstanceForm(forms.ModelForm):
    class Meta:
        model = ReplicationInstance
        fields = ["identifier", "description", "instance_class", "allocated_storage_gb", "multi_az"]
        labels = {"identifier": "Name"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # The identifier names the Celery queue its workers consume: renaming would strand them.
            self.fields["identifier"].disabled = True
            self.fields["identifier"].help_text = "The name is the workers' queue: it cannot change."

    def clean_identifier(self) -> str:
        identifier = self.cleaned_data["identifier"].lower()
        clash = ReplicationInstance.objects.filter(identifier=identifier).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"A replication instance named {identifier!r} already exists.")
        return identifier
