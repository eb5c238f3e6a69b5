"""A deterministic synthetic site for benchmarks: N blog posts plus the site's pages.

Posts are realistic Markdown (about 650 words with headings, lists, links,
emphasis, quotes, dashes and a code span) spread over ten years, with 5
categories, 30 tags and 8 authors. The same seed always gives the same site,
so builds can be compared run against run. `fill_comments` stores readers'
comments on those posts in a database, through the endpoint's own storage.
"""

import random
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent

CATEGORIES = ["Blog", "Campaigns", "Tools", "Trainings news", "Network"]
AUTHORS = [
    "Charles Lenchner",
    "Maria Alvarez",
    "Dev Patel",
    "Grace Okafor",
    "Sam Whitaker",
    "Katie Brennan",
    "Luis Romero",
    "Hana Kim",
]
TAGS = [
    "email lists",
    "CRM",
    "elections",
    "data",
    "social media",
    "petitions",
    "boycotts",
    "strikes",
    "worker centers",
    "fast food",
    "retail",
    "freelancers",
    "video",
    "design",
    "web development",
    "advertising",
    "writing",
    "training",
    "volunteers",
    "interns",
    "conference",
    "labor councils",
    "coalitions",
    "privacy",
    "mobile",
    "fundraising",
    "field",
    "research",
    "storytelling",
    "strategy",
]
WORDS = (
    "organizers union local members campaign online tools list email petition "
    "boycott picket volunteers workers community website supporters message plan "
    "training strike coalition allies story share data voter file target race "
    "primary recall council staff digital skills buy-in leadership meeting turnout "
    "phone text social video design budget reach audience feedback growth trust "
    "neighborhood shift wages contract bargaining solidarity rally press outreach"
).split()
HEADINGS = [
    "Why this matters now",
    "What we tried",
    "What worked",
    "What did not",
    "Getting buy-in",
    "Choosing the right tool",
    "The numbers",
    "Next steps",
    "Lessons for small locals",
    "How to start on Monday",
]
SITES = [
    "https://example.org/guide",
    "https://example.org/toolkit",
    "/about/",
    "https://example.org/report",
    "/knowledge-donors/",
]


def _sentence(rng, words=None):
    count = words or rng.randint(9, 18)
    chosen = [rng.choice(WORDS) for _ in range(count)]
    # A sprinkling of what typogrify works on: quotes, dashes, ellipses, caps.
    roll = rng.random()
    if roll < 0.15:
        chosen.insert(rng.randrange(1, count), "--")
    elif roll < 0.3:
        at = rng.randrange(0, count - 2)
        chosen[at] = f'"{chosen[at]}'
        chosen[at + 1] = f'{chosen[at + 1]}"'
    elif roll < 0.38:
        chosen.insert(rng.randrange(0, count), "AFL-CIO")
    elif roll < 0.45:
        chosen.insert(rng.randrange(0, count), "the member's")
    text = " ".join(chosen)
    return text[0].upper() + text[1:] + rng.choice([".", ".", ".", "?", "..."])


def _paragraph(rng, sentences):
    parts = [_sentence(rng) for _ in range(sentences)]
    # Emphasis, strong, a link and sometimes a code span, inline as writers do.
    parts[0] = parts[0].replace(" ", " *", 1).replace(" ", "* ", 2).replace("* ", " ", 1)
    word = rng.choice(WORDS)
    parts.append(f"See [our notes on {word}]({rng.choice(SITES)}) for **more detail**.")
    if rng.random() < 0.3:
        parts.append(f"Run `{rng.choice(WORDS)}-export --all` to get the list.")
    return " ".join(parts)


def post_markdown(rng, number, date):
    """One post's Markdown source: front matter plus about 650 words of body."""
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 8)))
    title = f"{title.capitalize()} -- note {number}"
    tags = ", ".join(rng.sample(TAGS, rng.randint(1, 4)))
    lines = [
        f"Title: {title}",
        f"Date: {date:%Y-%m-%d %H:%M}",
        f"Author: {rng.choice(AUTHORS)}",
        f"Category: {rng.choice(CATEGORIES)}",
        f"Tags: {tags}",
        f"Slug: post-{number:05d}",
        f'Summary: {_sentence(rng, 20)} "{rng.choice(WORDS)}" -- {_sentence(rng, 8)}',
        "",
        _paragraph(rng, 4),
        "",
    ]
    for heading in rng.sample(HEADINGS, 3):
        lines += [f"## {heading}", "", _paragraph(rng, 4), ""]
        if rng.random() < 0.5:
            lines += [f"- {_sentence(rng, 8)}" for _ in range(4)] + [""]
        else:
            lines += [f"{n}. {_sentence(rng, 8)}" for n in range(1, 5)] + [""]
        lines += [_paragraph(rng, 3), ""]
    lines += [f"> {_sentence(rng)}", "", _paragraph(rng, 2), ""]
    return "\n".join(lines)


VENUES = [
    ("New York City Central Labor Council", "275 Seventh Avenue", "New York", "10001"),
    ("Brooklyn Public Library, Central Branch", "10 Grand Army Plaza", "Brooklyn", "11238"),
    ("Workers United Hall", "33 West 14th Street", "New York", "10011"),
]


def training_markdown(rng, number, date):
    """A training's source in the shape of content/trainings/ samples."""
    venue, street, city, postal = rng.choice(VENUES)
    start = date + timedelta(days=rng.randint(14, 60))
    status = rng.choice(["scheduled"] * 6 + ["full", "cancelled", "postponed"])
    return "\n".join(
        [
            f"Title: Training {number}: {rng.choice(HEADINGS).lower()} for locals",
            f"Date: {date:%Y-%m-%d %H:%M}",
            f"Slug: bench-training-{number:05d}",
            f"Summary: {_sentence(rng, 18)}",
            f"Tags: training, {rng.choice(TAGS)}",
            f"Start: {start:%Y-%m-%d} 09:30",
            f"End: {start:%Y-%m-%d} 17:00",
            "Timezone: America/New_York",
            f"Venue: {venue}",
            f"Street: {street}",
            f"City: {city}",
            "Region: NY",
            f"Postal_Code: {postal}",
            "Country: US",
            "Audience: Union staff, members, community groups and allies",
            "Trainers: Trainers from Organizing 2.0",
            "    Trainers from the AFL-CIO",
            "Sponsors: Organizing 2.0",
            f"Topics: {_sentence(rng, 6)}",
            f"    {_sentence(rng, 6)}",
            "Registration: form",
            f"Capacity: {rng.randint(20, 120)}",
            f"Event_Status: {status}",
            "",
            _paragraph(rng, 4),
            "",
            "## How the day works",
            "",
            _paragraph(rng, 5),
            "",
        ]
    )


def intern_call_markdown(rng, number, date):
    """An intern call's source in the shape of content/internships/ samples."""
    term = rng.choice(["Spring", "Summer", "Fall"])
    apply_by = date + timedelta(days=rng.randint(20, 60))
    return "\n".join(
        [
            f"Title: {term} {date:%Y} internship {number}: online organizing",
            f"Date: {date:%Y-%m-%d %H:%M}",
            f"Slug: bench-intern-call-{number:05d}",
            f"Summary: {_sentence(rng, 18)}",
            "Tags: internships",
            "Role: Online organizing intern",
            f"Term: {term} {date:%Y}",
            "Supervisor: Charles Lenchner, founder of Organizing 2.0",
            f"Duties: {_sentence(rng, 7)}",
            f"    {_sentence(rng, 7)}",
            f"    {_sentence(rng, 7)}",
            f"Apply_By: {apply_by:%Y-%m-%d}",
            "Application: form",
            "City: New York",
            "Region: NY",
            "Country: US",
            "Remote: no",
            f"Testimonials: Katie | graduate, from Brooklyn | {_sentence(rng, 14)}",
            f"    Sam | graduate | {_sentence(rng, 14)}",
            "",
            _paragraph(rng, 4),
            "",
            _paragraph(rng, 3),
            "",
        ]
    )


START = datetime(2016, 1, 4, 9, 0)
SPAN = timedelta(days=3650)
ZONE = ZoneInfo("America/New_York")  # pelicanconf.py's TIMEZONE: posts' dates are local


def _post_day(number, posts):
    """Post `number`'s date before its random minutes: posts spread evenly over SPAN."""
    return START + SPAN * (number / (posts + 1))


def generate_site(destination, posts=1000, seed=2013):
    """Write a synthetic content folder at `destination`; returns what it wrote.

    It starts from a copy of the real content/ (pages, extras, sample posts) so
    every template has something to show, then adds `posts` blog posts and,
    when the events and intern-call plugins are enabled, one training and one
    intern call for every 20 posts.
    """
    destination = Path(destination)
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(ROOT / "content", destination)
    rng = random.Random(seed)
    with_events = _plugins_enabled({"plugins.events", "plugins.intern_calls"})
    counts = {"posts": posts, "trainings": 0, "intern_calls": 0}
    for number in range(1, posts + 1):
        date = _post_day(number, posts) + timedelta(minutes=rng.randint(0, 600))
        folder = destination / "blog" / "bench" / f"{date:%Y}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"post-{number:05d}.md").write_text(
            post_markdown(rng, number, date), encoding="utf-8"
        )
        if with_events and number % 20 == 10:
            counts["trainings"] += 1
            (destination / "trainings" / f"bench-training-{number:05d}.md").write_text(
                training_markdown(rng, number, date), encoding="utf-8"
            )
        if with_events and number % 20 == 0:
            counts["intern_calls"] += 1
            (destination / "internships" / f"bench-intern-call-{number:05d}.md").write_text(
                intern_call_markdown(rng, number, date), encoding="utf-8"
            )
    return counts


def _plugins_enabled(names):
    """Whether pelicanconf.py enables every plugin in `names` and their folders exist."""
    import pelicanconf

    plugins = set(getattr(pelicanconf, "PLUGINS", []))
    return names <= plugins and all(
        (ROOT / "plugins" / name.split(".")[-1]).is_dir() for name in names
    )


READERS = [
    "Ana Ruiz",
    "Ben Cole",
    "Chidi Obi",
    "Dana Fox",
    "Eli Stern",
    "Fatima Noor",
    "Gus Lind",
    "Ivy Chen",
    "Jo Banks",
    "Kofi Mensah",
    "Lena Park",
    "Marco Russo",
]


def _comment_text(rng):
    """A reader's comment: one or two short paragraphs in the comment form's Markdown."""
    text = " ".join(_sentence(rng, rng.randint(6, 14)) for _ in range(rng.randint(1, 3)))
    roll = rng.random()
    if roll < 0.2:
        text = text.replace(" ", " *", 1).replace(" ", "* ", 2).replace("* ", " ", 1)
    elif roll < 0.3:
        text += " More in [this guide](https://example.org/guide)."
    if rng.random() < 0.25:
        text += "\n\n" + _sentence(rng, rng.randint(6, 12))
    return text


def fill_comments(database_url, posts=1000, per_post=10, seed=2013):
    """Store `per_post` approved comments on each of generate_site's `posts` posts.

    They go through the endpoint's Storage as readers' comments would (added held,
    then approved by a moderator), into the database at `database_url`. About a
    quarter answer an earlier comment on the same post (`parent`). The same seed
    always gives the same comments; returns how many were stored.
    """
    from endpoint.storage import Submission, format_time, open_storage
    from endpoint.storage.base import APPROVED, COMMENT_FORM, HELD

    rng = random.Random(seed)
    storage = open_storage(database_url)
    ids = []
    try:
        for number in range(1, posts + 1):
            slug = f"post-{number:05d}"
            # A day after the post at the earliest (its own time adds at most 10 hours).
            moment = (_post_day(number, posts) + timedelta(days=1)).replace(tzinfo=ZONE)
            on_post = []
            for _ in range(per_post):
                moment += timedelta(minutes=rng.randint(5, 3000))
                comment_id = f"{rng.getrandbits(128):032x}"
                parent = rng.choice(on_post) if on_post and rng.random() < 0.3 else ""
                created = format_time(moment)
                email = f"reader-{comment_id[:8]}@example.org"
                fields = {
                    "name": rng.choice(READERS),
                    "email": email,
                    "comment": _comment_text(rng),
                    "post": slug,
                    "parent": parent,
                }
                storage.add(Submission(
                    id=comment_id, form_id=COMMENT_FORM, submitted_at=created, fields=fields,
                    source="", consent_at=created, consent_version="1", consent_sha256="0",
                    page_url="", ip_hash="0", user_agent="", idempotency_token=None,
                    email=email, content_hash=comment_id, notify_state="none", about=slug,
                    status=HELD,
                ))  # fmt: skip
                on_post.append(comment_id)
            ids += on_post
        # Approved as a moderator does (`invoke comments approve ID...`), many at a time.
        for first in range(0, len(ids), 500):
            storage.moderate_comments(ids[first : first + 500], APPROVED)
    finally:
        storage.close()
    return len(ids)
