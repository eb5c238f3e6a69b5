/* Forms: submit in place, show errors the GOV.UK way, keep what was typed.
 * Without this script (or in an old browser) a plain POST still works. */
(() => {
  if (window.organizingForms) return; // loaded twice
  window.organizingForms = true;

  const KEPT = "nothing was saved; your answers are still here.";
  const JSON_ONLY = { headers: { Accept: "application/json" }, credentials: "omit" };
  const $ = (root, selector) => root.querySelector(selector);
  const each = (root, selector, fn) => root.querySelectorAll(selector).forEach(fn);

  const element = (tag, className = "", textContent = "") =>
    Object.assign(document.createElement(tag), { className, textContent });

  function setHidden(form, name, value) {
    const input = $(form, `input[type="hidden"][name="${name}"]`);
    if (input && value && !input.value) input.value = value;
  }

  function fetchStart(form) {
    const url = form.getAttribute("action").replace(/\/+$/, "") + "/start";
    fetch(url, JSON_ONLY)
      .then((response) => (response.ok ? response.json() : null))
      .then((data) => {
        if (data) {
          setHidden(form, "_token", data.token);
          setHidden(form, "_started", data.started);
        }
      })
      .catch(() => {}); // it still submits without a token
  }

  function announce(form, message) {
    const region = $(form, "[data-form-status]");
    if (region) region.textContent = message;
  }

  function describedBy(el, id, remove) {
    const ids = (el.getAttribute("aria-describedby") || "").split(/\s+/);
    const kept = ids.filter((t) => t && t !== id).concat(remove ? [] : [id]);
    if (kept.length) el.setAttribute("aria-describedby", kept.join(" "));
    else el.removeAttribute("aria-describedby");
  }

  function removeErrors(form) {
    $(form, "[data-error-summary]")?.remove();
    each(form, ".form-error-message", (message) => {
      message.remove();
      each(form, `[aria-describedby~="${message.id}"]`, (el) => describedBy(el, message.id, true));
    });
    each(form, "[aria-invalid]", (el) => el.removeAttribute("aria-invalid"));
    each(form, ".form-field--error", (el) => el.classList.remove("form-field--error"));
  }

  // The markup webforms/render.py writes without JavaScript.
  function showSummary(form, title, items) {
    const titleId = form.getAttribute("data-form") + "--error-summary-title";
    const summary = element("div", "error-summary");
    summary.tabIndex = -1;
    const attributes = { role: "alert", "aria-labelledby": titleId, "data-error-summary": "" };
    for (const name in attributes) summary.setAttribute(name, attributes[name]);
    summary.appendChild(element("h2", "error-summary-title", title)).id = titleId;
    const list = summary.appendChild(element("ul", "error-summary-list"));
    for (const { message, target } of items) {
      const li = list.appendChild(element("li", "", target ? "" : message));
      if (target) li.appendChild(element("a", "", message)).href = "#" + target;
    }
    form.insertBefore(summary, form.firstChild);
    announce(form, "");
    summary.focus();
  }

  function showFieldError(form, name, message) {
    const container = $(form, `[data-field="${name}"]`);
    if (!container) return null;
    const id = form.getAttribute("data-form") + "-" + name;
    const error = element("p", "form-error-message");
    error.id = id + "-error";
    error.append(element("span", "visually-hidden", "Error: "), message);
    container.classList.add("form-field--error");
    const fieldset = $(container, "fieldset");
    if (fieldset) {
      // Under a group's legend and hint.
      fieldset.insertBefore(error, $(fieldset, ".form-choices"));
      describedBy(fieldset, error.id);
    } else {
      const control = document.getElementById(id);
      container.insertBefore(error, $(container, ".form-choice") || control);
      describedBy(control, error.id);
    }
    each(container, "input, select, textarea", (el) => el.setAttribute("aria-invalid", "true"));
    return id;
  }

  function showErrors(form, errors) {
    const items = Object.entries(errors).map(([name, message]) => ({
      message,
      target: showFieldError(form, name, message),
    }));
    if (!items.length) items.push({ message: "Please check the form and try again." });
    showSummary(form, "There is a problem", items);
  }

  const showNotSaved = (form, message) =>
    showSummary(form, "Your form was not sent", [{ message }]);

  // A registration's answer names its own page (waitlisted, already registered); a
  // comment's gives a message to show in place (the reader stays on the post).
  function succeed(form, data) {
    const inPlace = typeof data?.message === "string";
    const next = !inPlace && (data?.thank_you || form.getAttribute("data-thank-you"));
    announce(form, inPlace ? data.message : "Thank you. Your form has been sent.");
    if (next) return window.location.assign(next);
    // Ready for another one: a new token, or it counts as a repeat.
    form.reset();
    each(form, 'input[name="_token"], input[name="_started"]', (el) => (el.value = ""));
    fetchStart(form);
  }

  async function handleResponse(form, response) {
    const status = response.status;
    const data = await response.json().catch(() => null);
    if (response.ok) return succeed(form, data);
    if (status === 422) return showErrors(form, data?.errors || {});
    if (status === 409) {
      // This page's form was already sent, with other answers: the first ones were kept.
      const message = typeof data?.error === "string" && data.error;
      return showNotSaved(form, message || "This form was already sent. To send another, reload the page.");
    }
    if (status === 429) {
      // The endpoint says which limit (network, e-mail address, form) and when to retry.
      if (typeof data?.error === "string") return showNotSaved(form, `${data.error} Your answers are still here.`);
      const minutes = Math.ceil((parseInt(response.headers.get("Retry-After"), 10) || 0) / 60);
      const when = minutes > 0 ? `in ${minutes} minute${minutes === 1 ? "" : "s"}.` : "later.";
      return showNotSaved(form, `Too many forms have been sent from your network, so ${KEPT} Please try again ${when}`);
    }
    if (status >= 500) {
      return showNotSaved(form, `Our server had a problem, so ${KEPT} Please try again in a few minutes.`);
    }
    const message = typeof data?.error === "string" && data.error;
    showNotSaved(form, `${message || `The form could not be accepted (error ${status}).`} So ${KEPT}`);
  }

  function submit(form, event) {
    event.preventDefault();
    if (form.hasAttribute("data-busy")) return; // a double click sends once
    // aria-disabled, not disabled: focus stays on the button.
    const busy = [[form, "data-busy"], [form, "aria-busy"], [$(form, "button[type=submit]"), "aria-disabled"]];
    busy.forEach(([el, name]) => el?.setAttribute(name, "true"));
    removeErrors(form);
    announce(form, "Sending…");
    const body = new URLSearchParams(new FormData(form));
    fetch(form.getAttribute("action"), { ...JSON_ONLY, method: "POST", body })
      .then(
        (response) => handleResponse(form, response),
        () => showNotSaved(form, `We could not reach our server, so ${KEPT} Check your connection and try again.`)
      )
      .finally(() => busy.forEach(([el, name]) => el?.removeAttribute(name)));
  }

  // A summary link focuses its field, its question in view.
  function followSummaryLink(event) {
    const link = event.target.closest?.(".error-summary a[href^='#']");
    const target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    event.preventDefault();
    const fieldset = target.closest("fieldset");
    const label = fieldset ? $(fieldset, "legend") : $(document, `label[for="${target.id}"]`);
    (label || target).scrollIntoView();
    target.focus({ preventScroll: true });
  }

  // "12 of 40 places left" above a training's form; without it the form works the same.
  function showPlaces(line) {
    const form = line.closest("section")?.querySelector("form[data-form]");
    if (!form) return;
    const url = form.getAttribute("action").replace(/\/+$/, "") + "/places?for=" + encodeURIComponent(line.getAttribute("data-places-for"));
    fetch(url, JSON_ONLY)
      .then((response) => (response.ok ? response.json() : null))
      .then((places) => {
        if (!places || places.capacity === null) return;
        if (!places.open) line.textContent = "Registration is closed.";
        else if (places.left > 0) line.textContent = `${places.left} of ${places.capacity} places left`;
        else line.textContent = "Full — join the waitlist";
        line.hidden = false;
      })
      .catch(() => {}); // the page says how many places there are; the form still works
  }

  function start() {
    const params = new URLSearchParams(window.location.search);
    const source = (params.get("source") || params.get("utm_source") || "").trim();
    each(document, "form[data-form]", (form) => {
      form.noValidate = true; // the endpoint's messages, not the browser's
      setHidden(form, "source", source);
      fetchStart(form);
      form.addEventListener("submit", (event) => submit(form, event));
    });
    each(document, "[data-places-for]", showPlaces);
    document.addEventListener("click", followSummaryLink);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
