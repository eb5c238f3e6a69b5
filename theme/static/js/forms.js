/* Forms: submit in place, show errors the GOV.UK way, never lose what was typed.
 *
 * Without this script every form still works: a plain POST, then a redirect to the
 * thank-you page or an error page that keeps the values. With it:
 *  - `_token` and `_started` come from GET {action}/start (idempotency and time trap);
 *  - `source` comes from ?source= or ?utm_source= of the page address;
 *  - the form is sent with fetch and `Accept: application/json`;
 *  - errors (422) appear in a summary with links to the fields and by each field;
 *  - a network failure or server error says that nothing was saved.
 */
(function () {
  "use strict";

  if (window.organizingForms) {
    return; // loaded twice (two forms on one page): the first copy handles both
  }
  window.organizingForms = true;

  var SUMMARY_TITLE = "There is a problem";
  var NOT_SAVED_TITLE = "Your form was not sent";

  function fieldId(form, name) {
    return form.getAttribute("data-form") + "-" + name;
  }

  function pageSource() {
    var params = new URLSearchParams(window.location.search);
    return (params.get("source") || params.get("utm_source") || "").trim();
  }

  function setHidden(form, name, value) {
    var input = form.querySelector('input[type="hidden"][name="' + name + '"]');
    if (input && value && !input.value) {
      input.value = value;
    }
  }

  function fetchStart(form) {
    var url = form.getAttribute("action").replace(/\/+$/, "") + "/start";
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "omit" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          setHidden(form, "_token", data.token);
          setHidden(form, "_started", data.started);
        }
      })
      .catch(function () {
        // The endpoint is unreachable for now; the form still submits without a token.
      });
  }

  function statusRegion(form) {
    return form.querySelector("[data-form-status]");
  }

  function announce(form, message) {
    var region = statusRegion(form);
    if (region) {
      region.textContent = message;
    }
  }

  function removeErrors(form) {
    var summary = form.querySelector("[data-error-summary]");
    if (summary) {
      summary.parentNode.removeChild(summary);
    }
    form.querySelectorAll(".form-error-message").forEach(function (message) {
      var id = message.id;
      message.parentNode.removeChild(message);
      form.querySelectorAll('[aria-describedby~="' + id + '"]').forEach(function (el) {
        var rest = el
          .getAttribute("aria-describedby")
          .split(/\s+/)
          .filter(function (token) {
            return token && token !== id;
          });
        if (rest.length) {
          el.setAttribute("aria-describedby", rest.join(" "));
        } else {
          el.removeAttribute("aria-describedby");
        }
      });
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
    });
    form.querySelectorAll(".form-field--error").forEach(function (el) {
      el.classList.remove("form-field--error");
    });
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) {
      el.className = className;
    }
    if (text) {
      el.textContent = text;
    }
    return el;
  }

  function addDescribedBy(el, id) {
    var current = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (current.indexOf(id) === -1) {
      current.push(id);
    }
    el.setAttribute("aria-describedby", current.join(" "));
  }

  /* The same markup as endpoint/render.py writes for a page without JavaScript. */
  function showSummary(form, title, items) {
    var titleId = form.getAttribute("data-form") + "--error-summary-title";
    var summary = element("div", "error-summary");
    summary.setAttribute("tabindex", "-1");
    summary.setAttribute("role", "alert");
    summary.setAttribute("aria-labelledby", titleId);
    summary.setAttribute("data-error-summary", "");
    var heading = element("h2", "error-summary-title", title);
    heading.id = titleId;
    summary.appendChild(heading);
    var list = element("ul", "error-summary-list");
    items.forEach(function (item) {
      var li = document.createElement("li");
      if (item.target) {
        var link = element("a", "", item.message);
        link.href = "#" + item.target;
        li.appendChild(link);
      } else {
        li.textContent = item.message;
      }
      list.appendChild(li);
    });
    summary.appendChild(list);
    form.insertBefore(summary, form.firstChild);
    summary.focus();
  }

  function showFieldError(form, name, message) {
    var container = form.querySelector('[data-field="' + name + '"]');
    if (!container) {
      return null;
    }
    var id = fieldId(form, name);
    var error = element("p", "form-error-message");
    error.id = id + "-error";
    error.appendChild(element("span", "visually-hidden", "Error: "));
    error.appendChild(document.createTextNode(message));
    container.classList.add("form-field--error");
    var fieldset = container.querySelector("fieldset");
    if (fieldset) {
      // Groups: the message sits under the legend and hint, before the choices.
      fieldset.insertBefore(error, fieldset.querySelector(".form-choices"));
      addDescribedBy(fieldset, error.id);
    } else {
      var control = document.getElementById(id);
      var before = container.querySelector(".form-choice") || control;
      container.insertBefore(error, before);
      addDescribedBy(control, error.id);
    }
    container.querySelectorAll("input, select, textarea").forEach(function (el) {
      el.setAttribute("aria-invalid", "true");
    });
    return id;
  }

  function showErrors(form, errors) {
    var items = [];
    Object.keys(errors).forEach(function (name) {
      var target = showFieldError(form, name, errors[name]);
      items.push({ message: errors[name], target: target });
    });
    if (!items.length) {
      items.push({ message: "Please check the form and try again." });
    }
    showSummary(form, SUMMARY_TITLE, items);
    announce(form, "");
  }

  function showNotSaved(form, message) {
    showSummary(form, NOT_SAVED_TITLE, [{ message: message }]);
    announce(form, "");
  }

  function succeed(form) {
    var next = form.getAttribute("data-thank-you");
    announce(form, "Thank you. Your form has been sent.");
    if (next) {
      window.location.assign(next);
    } else {
      // Ready for another submission: a new token, or it would count as a repeat.
      form.reset();
      ["_token", "_started"].forEach(function (name) {
        var input = form.querySelector('input[name="' + name + '"]');
        if (input) {
          input.value = "";
        }
      });
      fetchStart(form);
    }
  }

  function serverMessage(response, fallback) {
    return response.json().then(
      function (data) {
        return (data && typeof data.error === "string" && data.error) || fallback;
      },
      function () {
        return fallback;
      }
    );
  }

  function handleResponse(form, response) {
    if (response.ok) {
      return succeed(form);
    }
    if (response.status === 422) {
      return response.json().then(
        function (data) {
          showErrors(form, (data && data.errors) || {});
        },
        function () {
          showErrors(form, {});
        }
      );
    }
    if (response.status === 429) {
      var wait = parseInt(response.headers.get("Retry-After") || "", 10);
      var minutes = wait > 0 ? Math.ceil(wait / 60) : 0;
      return showNotSaved(
        form,
        "Too many forms have been sent from your network. Nothing was saved; " +
          "your answers are still here. Please try again" +
          (minutes ? " in " + minutes + (minutes === 1 ? " minute." : " minutes.") : " later.")
      );
    }
    if (response.status >= 500) {
      return showNotSaved(
        form,
        "Our server had a problem, so nothing was saved. Your answers are still here; " +
          "please try again in a few minutes."
      );
    }
    return serverMessage(
      response,
      "The form could not be accepted (error " + response.status + ")."
    ).then(function (message) {
      showNotSaved(form, message + " Nothing was saved; your answers are still here.");
    });
  }

  function submit(form, event) {
    event.preventDefault();
    if (form.getAttribute("data-busy") === "true") {
      return; // a second click while the first is on its way
    }
    var button = form.querySelector('button[type="submit"]');
    form.setAttribute("data-busy", "true");
    form.setAttribute("aria-busy", "true");
    if (button) {
      // aria-disabled rather than disabled, so keyboard focus stays on the button.
      button.setAttribute("aria-disabled", "true");
    }
    removeErrors(form);
    announce(form, "Sending…");
    var body = new URLSearchParams(new FormData(form));
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: body,
      headers: { Accept: "application/json" },
      credentials: "omit",
    })
      .then(
        function (response) {
          return handleResponse(form, response);
        },
        function () {
          showNotSaved(
            form,
            "We could not reach our server, so nothing was saved. Your answers are still " +
              "here; check your connection and try again."
          );
        }
      )
      .then(function () {
        form.removeAttribute("data-busy");
        form.removeAttribute("aria-busy");
        if (button) {
          button.removeAttribute("aria-disabled");
        }
      });
  }

  /* A summary link focuses its field and scrolls its question into view (GOV.UK). */
  function followSummaryLink(event) {
    var link = event.target.closest && event.target.closest(".error-summary a[href^='#']");
    if (!link) {
      return;
    }
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) {
      return;
    }
    event.preventDefault();
    var fieldset = target.closest("fieldset");
    var label = fieldset
      ? fieldset.querySelector("legend")
      : document.querySelector('label[for="' + target.id + '"]');
    (label || target).scrollIntoView();
    target.focus({ preventScroll: true });
  }

  function enhance(form) {
    // The endpoint's messages, in the summary, replace the browser's own bubbles.
    form.noValidate = true;
    setHidden(form, "source", pageSource());
    fetchStart(form);
    form.addEventListener("submit", function (event) {
      submit(form, event);
    });
  }

  function start() {
    if (!window.fetch || !window.URLSearchParams || !window.FormData) {
      return; // an old browser keeps the plain POST
    }
    document.querySelectorAll("form[data-form]").forEach(enhance);
    document.addEventListener("click", followSummaryLink);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
