/*
 * The editor's file format: Decap CMS reads and writes our Pelican `Key: value` fields
 * through it (the custom format "pelican", plugins/cms), never YAML front matter.
 *
 * fromFile reads a file as Python-Markdown's meta extension (Pelican's Markdown reader)
 * and the content check read it: fields up to the first blank line, each `Key: value`
 * (keys in any case), a list's further items on lines indented by four spaces. toFile
 * writes the fields in the order of plugins/content_fields.py, lists as our files do,
 * dates as YYYY-MM-DD HH:MM, and leaves empty fields out.
 *
 * Loaded before decap-cms.js, it holds Decap back (CMS_MANUAL_INIT), then registers the
 * format, the site's stylesheet for previews and the alt-text check, and starts Decap.
 * Its script tag carries data-spec (JSON from plugins/cms: our fields' names, lists,
 * records) and data-preview-style.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  const spec = JSON.parse(script.dataset.spec || "{}");
  const previewStyle = script.dataset.previewStyle;
  // Python-Markdown's meta extension, as plugins/content_check/checker.py spells it.
  const FIELD = /^[ ]{0,3}([A-Za-z0-9_-]+):\s*(.*)$/;
  const MORE = /^[ ]{4,}(.*)$/;
  const BEGIN = /^-{3}(\s.*)?$/;
  const END = /^(-{3}|\.{3})(\s.*)?$/;
  const ISO_DATE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?$/;

  const names = new Map((spec.names || []).map((name) => [name.toLowerCase(), name]));
  const lists = spec.lists || {}; // key -> "" (one item a line) or ";" (also split there)
  const records = spec.records || {}; // key -> the parts of each item, in order
  const separator = spec.recordSeparator || "|";
  const dates = new Set(spec.dates || []);
  const allDay = spec.allDay || [];

  function items(values, splitAt) {
    return values
      .flatMap((value) => (splitAt ? value.split(splitAt) : [value]))
      .map((item) => item.trim())
      .filter(Boolean);
  }

  function record(item, parts) {
    const pieces = item.split(separator).map((piece) => piece.trim());
    // Anything past the last part stays in it, so no text is lost.
    const last = pieces.slice(parts.length - 1).join(` ${separator} `);
    const found = {};
    parts.forEach((part, index) => {
      found[part] = index === parts.length - 1 ? last : pieces[index] || "";
    });
    return found;
  }

  /** A file's text -> {key: value, ..., body}: a list is an array, a record list an
   *  array of objects, anything else a string (its lines joined by newlines). */
  function fromFile(text) {
    const rows = String(text).replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n").split("\n");
    const found = {};
    let index = rows.length && BEGIN.test(rows[0]) ? 1 : 0;
    let key = null;
    for (; index < rows.length; index += 1) {
      const row = rows[index].replace(/\t/g, "    ");
      if (!row.trim() || END.test(row)) {
        index += 1; // the blank line (or closing ---) ends the fields and is not text
        break;
      }
      const field = FIELD.exec(row);
      const more = MORE.exec(row);
      if (field) {
        key = field[1].toLowerCase();
        (found[key] = found[key] || []).push(field[2].trim());
      } else if (more && key) {
        found[key].push(more[1].trim());
      } else {
        break; // the text starts here, without a blank line
      }
    }
    const data = {};
    for (const [name, values] of Object.entries(found)) {
      if (name in records) {
        data[name] = items(values, lists[name]).map((item) => record(item, records[name]));
      } else if (name in lists) {
        data[name] = items(values, lists[name]);
      } else {
        data[name] = values.join("\n");
      }
    }
    data.body = rows.slice(index).join("\n");
    return data;
  }

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  function dateTime(value) {
    return (
      `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())} ` +
      `${pad(value.getHours())}:${pad(value.getMinutes())}`
    );
  }

  /** A list's item on one line: a record's parts joined by the separator ("" if empty). */
  function item(key, value) {
    const parts = records[key];
    const pieces = parts ? parts.map((part) => value?.[part]) : [value];
    const texts = pieces.map((piece) => String(piece ?? "").replace(/\s*\n\s*/g, " ").trim());
    return texts.some(Boolean) ? texts.join(` ${separator} `) : "";
  }

  /** One field's value as the lines of the file (none when empty). */
  function lines(key, value) {
    if (value === null || value === undefined || value === false) return [];
    if (Array.isArray(value)) return value.map((entry) => item(key, entry)).filter(Boolean);
    if (value instanceof Date) return [dateTime(value)];
    let text = String(value);
    const iso = dates.has(key) && ISO_DATE_TIME.exec(text.trim());
    if (iso) text = `${iso[1]} ${iso[2]}`;
    // A blank line would end the fields: each line of a longer value goes on its own.
    return text.split("\n").map((line) => line.trim()).filter(Boolean);
  }

  /** {key: value, ..., body} -> the file's text; `sortedKeys` is the collection's field
   *  order (Decap passes it); keys it does not name follow in their own order. */
  function toFile(data, sortedKeys = []) {
    const keys = [...new Set([...sortedKeys, ...Object.keys(data)])].filter(
      (key) => key !== "body"
    );
    const written = {};
    for (const key of keys) written[key] = lines(key, data[key]);
    // An all-day training: both times at midnight (or no time) write only the dates.
    const given = allDay.filter((key) => written[key] && written[key].length);
    const midnight = (key) => /^\d{4}-\d{2}-\d{2}( 00:00)?$/.test(written[key][0]);
    if (given.length && given.every(midnight)) {
      for (const key of given) written[key] = [written[key][0].slice(0, 10)];
    }
    const header = [];
    for (const key of keys) {
      const [first, ...more] = written[key];
      if (first === undefined) continue;
      header.push(`${names.get(key) || key}: ${first}`, ...more.map((line) => `    ${line}`));
    }
    const body = String(data.body ?? "").replace(/\r\n?/g, "\n");
    return `${header.join("\n")}\n\n${body}${body.endsWith("\n") ? "" : "\n"}`;
  }

  /** Why an entry may not be saved yet, or "" (Decap has no "required when" rule). */
  function missingDescription(data) {
    if (String(data.image ?? "").trim() && !String(data.image_alt ?? "").trim()) {
      return "Image alt: say what the Image shows, for people who cannot see it.";
    }
    if (/!\[\s*\]\(/.test(String(data.body ?? ""))) {
      return "Text: an image has no description; write what it shows between its brackets ![…].";
    }
    return "";
  }

  function start() {
    const cms = window.CMS;
    // The page of the site, for browsers without JavaScript, gives way to the editor in
    // #nc-root, which has its own styles (the previews keep the site's).
    const root = document.getElementById("nc-root");
    const page = document.body ? [...document.body.children] : [];
    const parts = [...page, ...document.querySelectorAll("[data-cms-fallback]")];
    for (const part of parts) part.hidden = !part.contains(root);
    for (const sheet of document.querySelectorAll('link[rel="stylesheet"]')) sheet.disabled = true;
    cms.registerCustomFormat(spec.format || "pelican", "md", { fromFile, toFile });
    if (previewStyle) cms.registerPreviewStyle(new URL(previewStyle, document.baseURI).href);
    cms.registerEventListener({
      name: "preSave",
      handler: ({ entry }) => {
        const problem = missingDescription(entry.get("data").toJS());
        if (problem) throw new Error(problem); // Decap shows it and saves nothing
      },
    });
    cms.init();
  }

  window.CMS_MANUAL_INIT = true;
  // Deferred, this runs before decap-cms.js, and DOMContentLoaded follows them both.
  if (window.CMS) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();
