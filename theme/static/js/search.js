/* Search (templates/search.html): our own small UI over Pagefind's JS API, so the page
 * runs under a Content-Security-Policy without inline scripts or styles. It is a plain
 * GET form too: ?q=words&kind=Post is read when the page opens and kept in the address. */
const PAGE_SIZE = 10;
// The data-pagefind-filter values of the theme's templates, as the status names them.
const KINDS = { Post: "posts", Training: "trainings", Internship: "internships", Page: "pages" };

const element = (tag, className = "", textContent = "") =>
  Object.assign(document.createElement(tag), { className, textContent });

function dateText(iso) {
  return new Date(`${iso}T00:00:00Z`).toLocaleDateString(document.documentElement.lang, {
    dateStyle: "long",
    timeZone: "UTC",
  });
}

// Pagefind's excerpt is HTML with <mark> around the words found: keep only text and marks.
function excerpt(html) {
  const paragraph = element("p", "search-result__excerpt");
  const parsed = new DOMParser().parseFromString(html, "text/html");
  const walker = parsed.createTreeWalker(parsed.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode;
    paragraph.append(text.parentNode.nodeName === "MARK" ? element("mark", "", text.data) : text.data);
  }
  return paragraph;
}

function resultItem(data) {
  const item = element("li", "search-result");
  const heading = element("h2", "search-result__title");
  const link = element("a", "", data.meta.title || data.url);
  link.href = data.url;
  heading.append(link);
  const meta = element("p", "meta", data.filters.kind?.[0] || "");
  if (data.meta.date) {
    const time = element("time", "", dateText(data.meta.date));
    time.dateTime = data.meta.date;
    meta.append(meta.textContent ? " · " : "", time);
  }
  item.append(heading, meta, excerpt(data.excerpt));
  return item;
}

function summary(count, term, kind) {
  const found = count === 0 ? "No results" : count === 1 ? "1 result" : `${count} results`;
  return `${found} for “${term}”${kind ? ` among ${KINDS[kind] || kind}` : ""}.`;
}

function start(form) {
  const status = document.querySelector("[data-search-status]");
  const list = document.querySelector("[data-search-results]");
  const more = document.querySelector("[data-search-more]");
  const fallback = document.querySelector("[data-search-fallback]");
  const { q: query, kind } = form.elements;
  fallback.hidden = true;
  form.hidden = false;

  // The index loads while the reader types: the listeners below are there at once,
  // and a search asked for meanwhile runs when the index is ready.
  const ready = (async () => {
    const pagefind = await import(new URL(form.dataset.bundle, document.baseURI).href);
    await pagefind.options({ excerptLength: 24 });
    await pagefind.init();
    return pagefind;
  })().catch(() => {
    status.textContent = "Sorry, the search index could not be loaded.";
    fallback.hidden = false;
    return null;
  });

  let latest = 0; // only the newest search may change the page
  let waiting = []; // results not shown yet

  async function showMore(ticket) {
    const batch = await Promise.all(waiting.splice(0, PAGE_SIZE).map((result) => result.data()));
    if (ticket !== latest) return null;
    const items = batch.map(resultItem);
    list.append(...items);
    more.hidden = waiting.length === 0;
    return items[0] || null;
  }

  async function run() {
    const term = query.value.trim();
    const params = new URLSearchParams();
    if (term) params.set("q", term);
    if (kind.value) params.set("kind", kind.value);
    history.replaceState(null, "", params.toString() ? `?${params}` : location.pathname);
    const ticket = ++latest;
    if (!term) {
      list.replaceChildren();
      more.hidden = true;
      status.textContent = "";
      return;
    }
    const pagefind = await ready;
    if (!pagefind || ticket !== latest) return;
    const search = await pagefind.search(term, kind.value ? { filters: { kind: kind.value } } : {});
    if (ticket !== latest) return;
    const count = search.results.length;
    waiting = search.results;
    list.replaceChildren();
    await showMore(ticket);
    if (ticket === latest) status.textContent = summary(count, term, kind.value);
  }

  let timer;
  query.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, 300);
  });
  form.addEventListener("change", (event) => {
    if (event.target.name === "kind") run();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    run();
  });
  more.addEventListener("click", async () => {
    const first = await showMore(latest);
    first?.querySelector("a").focus(); // the first new result, for keyboard users
  });

  const asked = new URLSearchParams(location.search);
  query.value = asked.get("q") || "";
  kind.value = asked.get("kind") in KINDS ? asked.get("kind") : "";
  if (query.value.trim()) run();
}

const searchForm = document.querySelector("[data-search]");
if (searchForm) start(searchForm);
