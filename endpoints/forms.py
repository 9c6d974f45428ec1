"""The endpoint form: DMS identifier rules, engine defaults, SSL, extra connection attributes, password."""

from __future__ import annotations

from typing import Any

from django import forms

from .engines.conninfo import parse_extra_connection_attributes
from .engines.registry import ENGINES
from .models import Endpoint, accepted_attributes

VERIFYING_SSL_MODES = {"verify-ca", "verify-full"}


class EngineSelect(forms.Select):
    """Lists every engine; the ones not supported yet are shown but cannot be chosen."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        spec = ENGINES.get(str(value))
        if spec is not None and spec.path is None:
            option["attrs"]["disabled"] = True
        return option


class EndpointForm(forms.ModelForm):
    password = forms.CharField(
        required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    clear_password = forms.BooleanField(required=False, label="Remove the stored password")
    port = forms.IntegerField(required=False, min_value=1, max_value=65535,
                              help_text="Leave blank for the engine's default port.")

    class Meta:
        model = Endpoint
        fields = ["endpoint_type", "identifier", "engine", "server_name", "port", "database_name", "username",
                  "ssl_mode", "ca_certificate", "extra_connection_attributes"]
        widgets = {
            "endpoint_type": forms.RadioSelect,
            "engine": EngineSelect,
            "ca_certificate": forms.Textarea(attrs={"rows": 4, "placeholder": "-----BEGIN CERTIFICATE-----"}),
            "extra_connection_attributes": forms.Textarea(attrs={"rows": 2, "placeholder": "key=value;key=value"}),
        }
        help_texts = {
            "identifier": "1-255 letters, digits and hyphens. Starts with a letter; no trailing hyphen and "
                          "no two hyphens in a row.",
            "ca_certificate": "PEM text of the certificate authority, needed for verify-ca and verify-full.",
            "extra_connection_attributes": "DMS syntax: key=value;key=value.",
        }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.editing = self.instance.pk is not None
        self.fields["endpoint_type"].choices = Endpoint.TYPE_CHOICES  # no blank "---------" radio
        if self.editing:
            self.fields["password"].help_text = ("Leave blank to keep the stored password."
                                                 if self.instance.has_password else "No password is stored.")
        else:
            del self.fields["clear_password"]
            self.fields["password"].help_text = "Stored encrypted; never shown again."

    def clean_identifier(self) -> str:
        identifier = self.cleaned_data["identifier"]
        clash = Endpoint.objects.filter(identifier__iexact=identifier).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"An endpoint named {identifier!r} already exists.")
        return identifier

    def clean_engine(self) -> str:
        engine = self.cleaned_data["engine"]
        spec = ENGINES[engine]
        if spec.path is None:
            raise forms.ValidationError(f"{spec.label.split(' (')[0]} is listed but not supported yet.")
        return engine

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        engine = data.get("engine")
        if engine and data.get("port") in (None, ""):
            data["port"] = ENGINES[engine].default_port
        ssl_mode = data.get("ssl_mode")
        ca = (data.get("ca_certificate") or "").strip()
        if ssl_mode in VERIFYING_SSL_MODES and not ca:
            self.add_error("ca_certificate", f"SSL mode {ssl_mode} checks the server against a CA certificate: "
                                             "paste it here (PEM).")
        elif ca and "-----BEGIN CERTIFICATE-----" not in ca:
            self.add_error("ca_certificate", "This is not a PEM certificate (it must contain "
                                             "-----BEGIN CERTIFICATE-----).")
        data["ca_certificate"] = ca
        if engine:
            self._clean_attributes(engine, data)
        return data

    def _clean_attributes(self, engine: str, data: dict[str, Any]) -> None:
        text = (data.get("extra_connection_attributes") or "").strip()
        if not text:
            data["extra_connection_attributes"] = ""
            return
        allowed = accepted_attributes(engine)
        if allowed is None:
            self.add_error("extra_connection_attributes",
                           f"The {ENGINES[engine].label} engine is not installed on this console, so its "
                           "extra connection attributes cannot be checked: leave this empty for now.")
            return
        try:
            parsed = parse_extra_connection_attributes(text, allowed)
        except ValueError as exc:
            self.add_error("extra_connection_attributes", str(exc))
            return
        data["extra_connection_attributes"] = ";".join(f"{k}={v}" for k, v in parsed.items())

    def save(self, commit: bool = True) -> Endpoint:
        endpoint = super().save(commit=False)
        endpoint.port = self.cleaned_data["port"]
        if self.cleaned_data.get("clear_password"):
            endpoint.set_password("")
        elif self.cleaned_data.get("password"):
            endpoint.set_password(self.cleaned_data["password"])
        if commit:
            endpoint.save()
        return endpoint

    @property
    def password_changed(self) -> bool:
        return bool(self.cleaned_data.get("password") or self.cleaned_data.get("clear_password"))


class TestConnectionForm(forms.Form):
    instance = forms.ModelChoiceField(queryset=None, label="Replication instance", to_field_name="identifier",
                                      empty_label=None)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        from tasks.models import ReplicationInstance

        self.fields["instance"].queryset = ReplicationInstance.objects.all()
