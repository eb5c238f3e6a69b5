/* Comments (partials/comments.html): adds comments approved since the page was built,
 * fetched from the form endpoint, and "Reply" buttons that fill the form's hidden
 * `parent` field. Without JavaScript the built comments and the form work as they are.
 * The comment HTML comes from the endpoint, cleaned there (webforms/comment_text.py). */
const section = document.querySelector(".comments[data-comments-api]");

const element = (tag, className = "", textContent = "") =>
  Object.assign(document.createElement(tag), { className, textContent });

function dateText(iso) {
  return new Date(iso).toLocaleDateString(document.documentElement.lang || undefined, {
    dateStyle: "long",
    timeZone: section.dataset.commentsZone || undefined,
  });
}

function commentItem(comment) {
  const item = element("li", "comment");
  item.id = `comment-${comment.id}`;
  const body = element("article", "comment__body");
  const meta = element("p", "comment__meta");
  meta.id = `${item.id}-by`;
  body.setAttribute("aria-labelledby", meta.id);
  const link = element("a");
  link.href = `#${item.id}`;
  const time = element("time", "", dateText(comment.created));
  time.dateTime = comment.created;
  link.append(time);
  meta.append(element("span", "comment__name", comment.name), " · ", link);
  const text = element("div", "comment__text");
  text.innerHTML = comment.html;
  body.append(meta, text);
  item.append(body);
  return item;
}

function replyList(parent) {
  let list = parent.querySelector(":scope > .comment-list--replies");
  if (!list) {
    list = element("ol", "comment-list comment-list--replies");
    parent.append(list);
  }
  return list;
}

async function addNewer() {
  const since = section.dataset.commentsSince;
  const url = section.dataset.commentsApi + (since ? `&since=${encodeURIComponent(since)}` : "");
  let comments;
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    ({ comments } = await response.json());
  } catch {
    return; // The endpoint is away: the built comments stay, nothing else to say.
  }
  const list = section.querySelector(".comment-list");
  for (const comment of comments || []) {
    if (document.getElementById(`comment-${comment.id}`)) continue;
    const parent = comment.parent && document.getElementById(`comment-${comment.parent}`);
    // One level of replies: a reply to a reply goes under the top-level comment.
    const home = parent && (parent.parentElement.closest(".comment") || parent);
    const item = commentItem(comment);
    (home ? replyList(home) : list).append(item);
    if (parentField) addReplyButton(item);
  }
  const count = section.querySelectorAll(".comment").length;
  section.querySelector(".comments__count").textContent = `(${count})`;
  section.querySelector(".comments__none")?.remove();
}

const form = section?.querySelector("form");
const parentField = form?.querySelector('input[name="parent"]');
const note = element("p", "comments__replying");

function replyTo(item) {
  parentField.value = item.id.replace("comment-", "");
  const name = item.querySelector(".comment__name").textContent;
  const cancel = element("button", "comments__cancel", "Cancel reply");
  cancel.type = "button";
  cancel.addEventListener("click", () => {
    parentField.value = "";
    note.remove();
  });
  note.replaceChildren(`Replying to ${name}. `, cancel);
  form.prepend(note);
  form.querySelector("textarea").focus();
}

function addReplyButton(item) {
  const button = element("button", "comment__reply", "Reply");
  button.type = "button";
  button.addEventListener("click", () => replyTo(item));
  item.querySelector(".comment__body").append(button);
}

if (section) {
  if (parentField) section.querySelectorAll(".comment").forEach(addReplyButton);
  addNewer();
}
