"""HTML for the forms, shared by the theme (at build time) and the endpoint (error pages).

This is where a form's markup is made: the theme's templates only place it on a page
(`theme/templates/partials/form.html`). Styles are in the theme's CSS, behaviour in
`theme/static/js/forms.js`.

Pure Python with the standard library only, so the endpoint stays quick to import. The
markup follows the GOV.UK patterns: an error summary that links to each field, an inline
message by each field, help text and errors tied to the field with `aria-describedby`,
and radio or checkbox groups in a fieldset with a legend.

`values` maps a field name to the text typed (a list of values for checkbox groups);
`errors` maps a field name (or `consent`, or any other key for a form-wide problem) to
a message. Both come back into the page so nothing a person typed is lost.
"""

from __future__ import annotations

from html import escape

from .names import CONSENT, HONEYPOT, STARTED, TOKEN

CONSENT_VALUE = "yes"
GROUP_TYPES = ("radio", "checkboxes")
# The page script, relative to the site (the theme's static/js/forms.js).
SCRIPT_PATH = "theme/js/forms.js"
SUMMARY_TITLE = "There is a problem"


def _attr(value) -> str:
    return escape(str(value), quote=True)


def _text(value) -> str:
    return escape(str(value), quote=False)


def field_id(form, name: str) -> str:
    """The id of a field's (first) control: unique per form, so two forms can share a page."""
    return f"{form.id}-{name}"


def _values_of(values, name: str) -> list[str]:
    """Every value submitted for `name`, as strings (checkbox groups send several)."""
    raw = (values or {}).get(name)
    if raw is None:
        return []
    if isinstance(raw, list | tuple | set | frozenset):
        return [str(item) for item in raw]
    return [str(raw)]


def _first(values, name: str) -> str:
    found = _values_of(values, name)
    return found[0] if found else ""


def _label_text(field) -> str:
    label = field.label
    if not field.required and "optional" not in label.lower():
        label += " (optional)"
    return label


def _error_message(fid: str, message: str) -> str:
    return (
        f'<p class="form-error-message" id="{fid}-error">'
        f'<span class="visually-hidden">Error: </span>{_text(message)}</p>'
    )


def _described_by(fid: str, has_help: bool, has_error: bool) -> str:
    ids = []
    if has_help:
        ids.append(f"{fid}-hint")
    if has_error:
        ids.append(f"{fid}-error")
    return f' aria-describedby="{" ".join(ids)}"' if ids else ""


def _input_attrs(field, fid: str, error: str | None, with_id: bool = True) -> str:
    parts = [f' name="{_attr(field.name)}"']
    if with_id:
        parts.insert(0, f' id="{fid}"')
    if field.required:
        parts.append(" required")
    if field.max_length:
        parts.append(f' maxlength="{int(field.max_length)}"')
    if field.autocomplete:
        parts.append(f' autocomplete="{_attr(field.autocomplete)}"')
    if error:
        parts.append(' aria-invalid="true"')
    return "".join(parts)


def _render_group(form, field, values, error) -> str:
    """Radio and checkbox groups: a fieldset whose legend is the question."""
    fid = field_id(form, field.name)
    chosen = set(_values_of(values, field.name))
    kind = "radio" if field.type == "radio" else "checkbox"
    out = [
        f'<div class="form-field form-field--group{" form-field--error" if error else ""}"'
        f' data-field="{_attr(field.name)}">',
        f'<fieldset class="form-fieldset"{_described_by(fid, bool(field.help), bool(error))}>',
        f'<legend class="form-legend">{_text(_label_text(field))}</legend>',
    ]
    if field.help:
        out.append(f'<p class="form-hint" id="{fid}-hint">{_text(field.help)}</p>')
    if error:
        out.append(_error_message(fid, error))
    out.append(f'<div class="form-choices form-choices--{kind}">')
    for number, option in enumerate(field.options):
        option_id = fid if number == 0 else f"{fid}--{number + 1}"
        attrs = f' type="{kind}" id="{option_id}" name="{_attr(field.name)}"'
        attrs += f' value="{_attr(option.value)}"'
        # A required radio group is native; a checkbox group cannot say "at least one".
        if field.required and kind == "radio":
            attrs += " required"
        if error:
            attrs += ' aria-invalid="true"'
        if option.value in chosen:
            attrs += " checked"
        out.append(
            f'<div class="form-choice"><input{attrs}>'
            f' <label for="{option_id}">{_text(option.label)}</label></div>'
        )
    out.append("</div></fieldset></div>")
    return "\n".join(out)


def _render_control(form, field, values, error) -> str:
    """Text-like inputs, textareas, selects and single checkboxes."""
    fid = field_id(form, field.name)
    described = _described_by(fid, bool(field.help), bool(error))
    attrs = _input_attrs(field, fid, error) + described
    value = _first(values, field.name)
    if field.type == "textarea":
        control = f'<textarea{attrs} rows="5">{_text(value)}</textarea>'
    elif field.type == "select":
        options = ['<option value="">Choose one</option>']
        for option in field.options:
            selected = " selected" if option.value == value else ""
            options.append(
                f'<option value="{_attr(option.value)}"{selected}>{_text(option.label)}</option>'
            )
        control = f"<select{attrs}>{''.join(options)}</select>"
    elif field.type == "checkbox":
        checked = " checked" if value else ""
        control = f'<input type="checkbox"{attrs} value="{CONSENT_VALUE}"{checked}>'
    else:
        control = f'<input type="{_attr(field.type)}"{attrs} value="{_attr(value)}">'
    label = f'<label class="form-label" for="{fid}">{_text(_label_text(field))}</label>'
    hint = f'<p class="form-hint" id="{fid}-hint">{_text(field.help)}</p>' if field.help else ""
    message = _error_message(fid, error) if error else ""
    css = "form-field form-field--checkbox" if field.type == "checkbox" else "form-field"
    if error:
        css += " form-field--error"
    if field.type == "checkbox":
        body = f'{hint}{message}<div class="form-choice">{control} {label}</div>'
    else:
        body = f"{label}{hint}{message}{control}"
    return f'<div class="{css}" data-field="{_attr(field.name)}">{body}</div>'


def _render_hidden(name: str, value: str, form=None) -> str:
    id_attr = f' id="{field_id(form, name)}"' if form is not None else ""
    return f'<input type="hidden"{id_attr} name="{_attr(name)}" value="{_attr(value)}">'


def _render_consent(form, values, error) -> str:
    fid = field_id(form, CONSENT)
    checked = " checked" if _first(values, CONSENT) else ""
    invalid = ' aria-invalid="true"' if error else ""
    described = _described_by(fid, False, bool(error))
    css = "form-field form-field--checkbox form-consent"
    if error:
        css += " form-field--error"
    message = _error_message(fid, error) if error else ""
    return (
        f'<div class="{css}" data-field="{CONSENT}">{message}<div class="form-choice">'
        f'<input type="checkbox" id="{fid}" name="{CONSENT}" value="{CONSENT_VALUE}" required'
        f"{invalid}{described}{checked}>"
        f' <label class="form-label" for="{fid}">{_text(form.consent.text)}</label>'
        "</div></div>"
    )


def _render_honeypot(form) -> str:
    """A text box people never see or reach; bots that fill it are answered and ignored."""
    fid = f"{form.id}--hp"  # names cannot contain "--", so this never clashes
    return (
        '<div class="form-hp" aria-hidden="true">'
        f'<label for="{fid}">Leave this empty</label>'
        f'<input type="text" id="{fid}" name="{HONEYPOT}" value="" tabindex="-1"'
        ' autocomplete="off"></div>'
    )


def error_summary_html(form, errors) -> str:
    """The GOV.UK error summary: a focusable box listing each problem, linked to its field."""
    if not errors:
        return ""
    known = {field.name for field in form.fields if field.type != "hidden"} | {CONSENT}
    items = []
    for name, message in errors.items():
        if name in known:
            items.append(f'<li><a href="#{field_id(form, name)}">{_text(message)}</a></li>')
        else:
            items.append(f"<li>{_text(message)}</li>")
    title_id = f"{form.id}--error-summary-title"
    return (
        f'<div class="error-summary" tabindex="-1" role="alert" aria-labelledby="{title_id}"'
        " data-error-summary>"
        f'<h2 class="error-summary-title" id="{title_id}">{SUMMARY_TITLE}</h2>'
        f'<ul class="error-summary-list">{"".join(items)}</ul></div>'
    )


def form_html(form, action, values=None, errors=None, hidden=None, thank_you_url=None) -> str:
    """The whole <form> element for `form`, posting to `action`.

    `hidden` gives values for hidden fields set by the page (an event's slug, say);
    `thank_you_url`, when known, lets the page script go there after a submission.
    """
    values = dict(values or {})
    errors = dict(errors or {})
    for name, value in (hidden or {}).items():
        values.setdefault(name, value)
    attrs = (
        f' class="form" id="form-{_attr(form.id)}" action="{_attr(action)}" method="post"'
        f' accept-charset="utf-8" data-form="{_attr(form.id)}"'
    )
    if thank_you_url:
        attrs += f' data-thank-you="{_attr(thank_you_url)}"'
    parts = [f"<form{attrs}>", error_summary_html(form, errors)]
    hidden_parts = []
    for field in form.fields:
        error = errors.get(field.name)
        if field.type == "hidden":
            hidden_parts.append(_render_hidden(field.name, _first(values, field.name), form))
        elif field.type in GROUP_TYPES:
            parts.append(_render_group(form, field, values, error))
        else:
            parts.append(_render_control(form, field, values, error))
    parts.append(_render_consent(form, values, errors.get(CONSENT)))
    parts.append(_render_honeypot(form))
    parts.extend(hidden_parts)
    parts.append(_render_hidden(TOKEN, _first(values, TOKEN)))
    parts.append(_render_hidden(STARTED, _first(values, STARTED)))
    parts.append(
        '<div class="form-actions">'
        f'<button type="submit" class="button">{_text(form.submit_label)}</button></div>'
    )
    parts.append('<p class="form-status" role="status" data-form-status></p>')
    parts.append("</form>")
    return "\n".join(part for part in parts if part)


def error_page(form, action, values, errors, site_url) -> str:
    """A complete page for a browser without JavaScript: the errors, then the form refilled."""
    site_url = (site_url or "").rstrip("/")
    thank_you_url = f"{site_url}/{form.thank_you}"
    title = f"{SUMMARY_TITLE}: {form.title}"
    body = form_html(form, action, values=values, errors=errors, thank_you_url=thank_you_url)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta name="color-scheme" content="light dark">
<title>{_text(title)}</title>
<link rel="stylesheet" href="{_attr(site_url)}/theme/css/site.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site-header"><div class="wrap site-header__inner">
<p class="site-name"><a href="{_attr(site_url)}/">Organizing 2.0</a></p>
</div></header>
<main id="main" class="wrap" tabindex="-1">
<h1>{_text(form.title)}</h1>
<p>Your form was not sent yet. Please correct what is listed below and send it again;
everything you typed is still here.</p>
{body}
</main>
<script src="{_attr(site_url)}/{SCRIPT_PATH}" defer></script>
</body>
</html>
"""
