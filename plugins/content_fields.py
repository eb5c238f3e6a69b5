"""The fields a content file may have, in one list: the content check, the scaffolds
(`invoke new-post` and friends) and, later, the browser editor all read it.

Each kind of content lives in its own folder: posts in content/blog/, pages in
content/pages/, trainings in content/trainings/, intern calls in content/internships/.
A field belongs to the kinds it names. `example` is what a scaffold writes on the
field's line (nothing when None; a dict gives one example per kind); `placeholder`
marks an example the writer must replace before the file is published. `help` is
the scaffold's note on the field. Examples may use `{title}`, `{slug}`, `{now}`,
`{start}` and `{apply_by}` (date-times, formatted like `{now:%Y-%m-%d %H:%M}`).

A site adds fields of its own with CONTENT_CHECK["extra_fields"] in pelicanconf.py.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

POST, PAGE, TRAINING, INTERN_CALL = "post", "page", "training", "intern call"
KINDS = (POST, PAGE, TRAINING, INTERN_CALL)
ALL = KINDS
# The folder (under content/) each kind lives in, and the scaffold that writes one.
FOLDERS = {POST: "blog", PAGE: "pages", TRAINING: "trainings", INTERN_CALL: "internships"}
SCAFFOLD_TASKS = {
    POST: "new-post",
    PAGE: "new-page",
    TRAINING: "new-training",
    INTERN_CALL: "new-intern-call",
}


@dataclass(frozen=True)
class Field:
    """One field of the front matter, as the writer spells it (`Event_Status`)."""

    name: str
    kinds: tuple
    help: str
    example: str | dict | None = None
    placeholder: bool | tuple = False  # True, or the example lines that are placeholders
    required: tuple = ()  # the kinds that must have it
    options: tuple = ()  # the values it may take, when it is a choice
    is_list: bool = False  # one item per indented line

    @property
    def key(self) -> str:
        """The name as Pelican stores it: lower case."""
        return self.name.lower()

    def placeholders(self, kind: str) -> set[str]:
        """The example lines a published file must not keep (compared case-insensitively)."""
        if kind not in self.kinds:
            return set()
        if isinstance(self.placeholder, tuple):
            return {line.casefold() for line in self.placeholder}
        if self.placeholder:
            return {line.strip().casefold() for line in self.example_for(kind).split("\n")}
        return set()

    def example_for(self, kind: str) -> str | None:
        """What the scaffold of `kind` writes on this field's line (None: no line)."""
        if isinstance(self.example, dict):
            return self.example.get(kind)
        return self.example


DATE_FORMAT = "{now:%Y-%m-%d %H:%M}"

FIELDS = (
    # --- every kind -----------------------------------------------------------
    Field(
        "Title",
        ALL,
        "the headline readers see",
        "{title}",
        required=ALL,
    ),
    Field(
        "Date",
        ALL,
        "when it is first published (YYYY-MM-DD HH:MM, the site's time zone); a date "
        "in the future schedules it",
        {POST: DATE_FORMAT, TRAINING: DATE_FORMAT, INTERN_CALL: DATE_FORMAT},
        required=(POST, TRAINING, INTERN_CALL),
    ),
    Field(
        "Modified",
        ALL,
        "change this when you update a published post",
        {POST: DATE_FORMAT},
    ),
    Field(
        "Author",
        ALL,
        "your name as it should appear",
        {POST: "Charles Lenchner"},
    ),
    Field("Authors", ALL, "several authors, comma-separated (instead of Author)"),
    Field(
        "Slug",
        ALL,
        {
            POST: "the last part of the address: /blog/YEAR/SLUG/",
            PAGE: "the page's address: /SLUG/",
            TRAINING: "the last part of the address: /trainings/SLUG/",
            INTERN_CALL: "the last part of the address: /internships/SLUG/",
        },
        "{slug}",
    ),
    Field(
        "Summary",
        ALL,
        "shown in lists, feeds, search results and as the page description",
        {
            POST: "One or two sentences for the blog index, feeds and search engines.",
            PAGE: "One sentence on what this page is for.",
            TRAINING: "One or two sentences: what people will learn and who it is for.",
            INTERN_CALL: "One or two sentences: what the intern will do and learn.",
        },
        placeholder=True,
        required=(POST, TRAINING, INTERN_CALL),
    ),
    Field(
        "Tags",
        ALL,
        "comma-separated topics; each gets its own page and feed",
        {POST: "organizing", TRAINING: "training", INTERN_CALL: "internships"},
    ),
    Field(
        "Image",
        ALL,
        "the picture a shared link shows, a file under content/images/ "
        "(images/NAME.jpg, ideally 1200 by 630 pixels); without it, the site's own",
    ),
    Field("Image_Alt", ALL, "what the Image shows, for people who cannot see it"),
    Field("Category", ALL, "leave out: the folder is the category"),
    Field(
        "Status",
        ALL,
        "draft (preview only), published, or hidden (published but not listed)",
        "draft",
        options=("draft", "published", "hidden", "skip"),
    ),
    Field("Lang", ALL, "the language, when it is not English (es, fr)"),
    Field("Translation", ALL, "true when this file translates another with the same slug"),
    Field("Template", ALL, "the theme template that renders it (pages: form for a form page)"),
    Field("Save_as", ALL, "the output file, when it must differ from the usual one"),
    Field("URL", ALL, "the address, when it must differ from the usual one"),
    # --- posts ------------------------------------------------------------------
    Field(
        "Comments",
        (POST,),
        "open (the default: readers may comment until 90 days after Date), closed "
        "(comments shown, no new ones) or none (no comments at all)",
        {POST: "open"},
        options=("open", "closed", "none"),
    ),
    # --- pages ------------------------------------------------------------------
    Field("Form", (PAGE,), "with `Template: form`, the form shown (a name from forms/)"),
    Field("Form_title", (PAGE,), "the heading above the form"),
    Field("Nav_section", (PAGE,), "the menu entry marked as current on this page"),
    # --- trainings and events --------------------------------------------------
    Field(
        "Start",
        (TRAINING,),
        "local date and time (YYYY-MM-DD HH:MM, 24-hour clock); for an all-day or "
        "multi-day event write only the date (YYYY-MM-DD)",
        "{start:%Y-%m-%d} 09:30",
        required=(TRAINING,),
    ),
    Field(
        "End",
        (TRAINING,),
        "when it ends, written like Start",
        "{start:%Y-%m-%d} 17:00",
        required=(TRAINING,),  # the events plugin needs it (plugins/events/model.py)
    ),
    Field(
        "Timezone",
        (TRAINING,),
        "where the times are, as an IANA name (America/New_York, America/Chicago, "
        "Europe/London); leave out for the site's zone",
        "America/New_York",
    ),
    Field(
        "Venue",
        (TRAINING,),
        "the place's name; for an online event delete Venue and the address lines and "
        "add `Online_URL: https://...` instead",
        "Name of the place",
        placeholder=True,
    ),
    Field("Online_URL", (TRAINING,), "the address of an online event (https://...)"),
    Field(
        "Street",
        (TRAINING,),
        "street lines, one per line",
        "275 Seventh Avenue\n16th Floor",
        is_list=True,
    ),
    Field(
        "City",
        (TRAINING, INTERN_CALL),
        "the city (with Region, Postal_Code and Country)",
        {TRAINING: "New York", INTERN_CALL: "New York"},
    ),
    Field(
        "Region",
        (TRAINING, INTERN_CALL),
        "the state or region",
        {TRAINING: "NY", INTERN_CALL: "NY"},
    ),
    Field("Postal_Code", (TRAINING,), "the postal code", "10001"),
    Field(
        "Country",
        (TRAINING, INTERN_CALL),
        "two-letter country code",
        {TRAINING: "US", INTERN_CALL: "US"},
    ),
    Field(
        "Audience",
        (TRAINING,),
        "who should come, in one sentence",
        "Who it is for, in one sentence",
        placeholder=True,
    ),
    Field(
        "Trainers",
        (TRAINING,),
        "one per line",
        "First trainer\nSecond trainer",
        placeholder=True,
        is_list=True,
    ),
    Field(
        "Sponsors",
        (TRAINING,),
        "one per line",
        "Organizing 2.0\nAnother sponsor",
        placeholder=("Another sponsor",),
        is_list=True,
    ),
    Field(
        "Topics",
        (TRAINING,),
        "what the day covers, one per line",
        "First topic\nSecond topic",
        placeholder=True,
        is_list=True,
    ),
    Field(
        "Bring",
        (TRAINING,),
        "what to bring, one per line (it goes in the confirmation e-mail too)",
        "A laptop or a phone\nYour campaign's website address",
        placeholder=True,
        is_list=True,
    ),
    Field(
        "Registration",
        (TRAINING,),
        "`form` for our own registration form, a full https:// address for an outside "
        "one, or `none`",
        "form",
    ),
    Field("Capacity", (TRAINING,), "number of places (delete the line if there is no limit)", "40"),
    Field(
        "Event_Status",
        (TRAINING,),
        "scheduled, cancelled, postponed or full",
        "scheduled",
        options=("scheduled", "cancelled", "postponed", "full"),
    ),
    # --- intern calls -------------------------------------------------------------
    Field(
        "Role",
        (INTERN_CALL,),
        "the intern's job title",
        "Online organizing intern",
        required=(INTERN_CALL,),
    ),
    Field(
        "Term",
        (INTERN_CALL,),
        "when the internship runs, e.g. Fall 2026",
        "Fall {now:%Y}",
        required=(INTERN_CALL,),
    ),
    Field(
        "Supervisor",
        (INTERN_CALL,),
        "who the intern works with",
        "Name of the supervisor",
        placeholder=True,
        required=(INTERN_CALL,),
    ),
    Field(
        "Duties",
        (INTERN_CALL,),
        "what the intern will do, one per line",
        "First thing the intern will do\nSecond thing the intern will do",
        placeholder=True,
        is_list=True,
    ),
    Field(
        "Apply_By",
        (INTERN_CALL,),
        "the last day to apply (YYYY-MM-DD); the call closes after it",
        "{apply_by:%Y-%m-%d}",
        required=(INTERN_CALL,),
    ),
    Field(
        "Application",
        (INTERN_CALL,),
        "`form` for our own application form, or a full https:// address",
        "form",
        required=(INTERN_CALL,),
    ),
    Field(
        "Remote",
        (INTERN_CALL,),
        "yes if the intern can work from anywhere, otherwise no (then give City, "
        "Region and Country)",
        "no",
        options=("yes", "no"),
    ),
    Field(
        "Testimonials",
        (INTERN_CALL,),
        "former interns, one per line: Name | background | what they said (delete the "
        "line if there are none yet)",
        "Name | one line of background | what they said about the internship\n"
        "Name | one line of background | what they said about the internship",
        placeholder=True,
        is_list=True,
    ),
)

# The text a scaffold puts where the writer's own text goes; it must not be published.
BODY_PLACEHOLDERS = {
    POST: "Write your post here.",
    PAGE: "Write the page here.",
    TRAINING: "Describe the day here.",
    INTERN_CALL: "Describe the internship here.",
}

# The first words of the note a scaffold puts under the fields; it must go too.
SCAFFOLD_NOTE = "Every line above is a field"

BY_KEY = {field.key: field for field in FIELDS}


def fields_of(kind: str, extra=()) -> dict[str, Field]:
    """{key: Field} of the fields a file of `kind` may have (plus the site's `extra`)."""
    known = {field.key: field for field in FIELDS if kind in field.kinds}
    for name in extra:
        known.setdefault(name.lower(), Field(name, KINDS, "a field this site adds"))
    return known


def only_in(kind: str) -> tuple[str, ...]:
    """Keys of the fields no other kind has: any of them marks a file as that kind."""
    return tuple(field.key for field in FIELDS if field.kinds == (kind,))


def help_text(field: Field, kind: str) -> str:
    """The field's note for `kind`."""
    return field.help.get(kind, "") if isinstance(field.help, dict) else field.help


def scaffold(kind: str, **values) -> str:
    """The text of a new file of `kind`: every field with an example, then a note on
    each, then the body to replace. `values` fill the examples (title, slug, now, ...)."""
    header, notes = [], []
    for field in FIELDS:
        example = field.example_for(kind) if kind in field.kinds else None
        if example is None:
            continue
        first, *more = example.format(**values).split("\n")
        header.append(f"{field.name}: {first}")
        header.extend(f"    {line}" for line in more)
        notes.append(
            textwrap.fill(
                help_text(field, kind),
                width=88,
                initial_indent=f"  {field.name:<13} ",
                subsequent_indent=" " * 16,
            )
        )
    folder = FOLDERS[kind]
    return (
        "\n".join(header)
        + f"\n\n<!--\n{SCAFFOLD_NOTE} (indented lines continue a list, one item each):\n"
        + "\n".join(notes)
        + f"\nThe file lives in content/{folder}/. Replace every example value, delete this\n"
        "note, write below in Markdown, and set Status: published when it is ready.\n"
        "-->\n\n" + BODY_PLACEHOLDERS[kind] + "\n"
    )
