"""Static strings of the chat page: its stylesheet, <head> additions, placeholder and scroll scripts."""

from __future__ import annotations

# Gradio scopes the custom css under ".gradio-container .contain", which leaves the page
# container itself out of reach; these two rules go into <head> unchanged.
HEAD = """<style>
.gradio-container { max-width: 980px !important; min-width: 0 !important; margin: 0 auto !important; }
@media (max-width: 640px) { .gradio-container > .main { padding-left: 10px !important; padding-right: 10px !important; } }
</style>"""

CSS = """
#qa-header { padding: 0.5rem 0.25rem 0; }
#qa-header h1 { font-size: 1.55rem; line-height: 1.2; margin: 0 0 0.3rem; font-weight: 700; letter-spacing: -0.01em; }
#qa-header .qa-sub { display: flex; flex-wrap: wrap; gap: 0.2rem 0.9rem; margin: 0; font-size: 0.92rem;
  color: var(--body-text-color-subdued); }
#qa-header .qa-count { color: var(--body-text-color); font-weight: 600; }
#qa-actions { align-items: center; flex-wrap: nowrap; gap: 0.75rem; }
#qa-hint { padding: 0 0.25rem; }
#qa-hint .qa-hint { margin: 0; font-size: 0.82rem; color: var(--body-text-color-subdued); }
.qa-user { margin: 0; }
#qa-chat .placeholder-content { justify-content: center; gap: 1.25rem; }
#qa-chat .placeholder { font-size: 1rem; max-width: 36rem; margin: 0 auto; text-align: center; }
#qa-chat .examples {
  max-width: 44rem; margin: 0 auto; width: 100%;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 220px), 1fr)) !important;
}
#qa-chat .examples .example {
  border: 1px solid var(--border-color-primary); border-radius: 12px; background: var(--background-fill-secondary);
  text-align: left; transition: border-color 0.15s; min-width: 0 !important; width: auto !important;
  max-width: none !important;
}
#qa-chat .examples .example:hover { border-color: var(--color-accent); }
#qa-chat .message-row.bot-row { margin-left: 8px; margin-right: 8px; max-width: calc(100% - 16px); }
.qa-answer { display: flex; flex-direction: column; gap: 0.6rem; padding: 0.4rem 0.1rem 0.2rem; }
.qa-quote {
  margin: 0 !important; padding: 0.15rem 0 0.15rem 0.85rem; border-left: 3px solid var(--color-accent);
  font-size: 1.02rem; line-height: 1.55;
}
.qa-quote strong { background: var(--color-accent-soft); border-radius: 3px; padding: 0 0.15em; }
.qa-ref {
  display: inline-block; font-size: 0.75rem; font-weight: 600; line-height: 1; vertical-align: 0.2em;
  color: var(--color-accent); margin-left: 0.2rem; text-decoration: none;
}
.qa-note, .qa-notice {
  margin: 0; font-size: 0.85rem; color: var(--body-text-color-subdued);
}
.qa-notice::before { content: "ⓘ "; }
.qa-scope { margin: 0; font-size: 0.8rem; font-weight: 600; color: var(--body-text-color-subdued); }
.qa-abstain-msg { margin: 0; font-weight: 600; font-size: 1.02rem; }
.qa-error { margin: 0; color: var(--error-text-color, #b42318); font-weight: 600; }
.qa-sources-h {
  font-size: 0.72rem; letter-spacing: 0.06em; text-transform: uppercase; font-weight: 700;
  color: var(--body-text-color-subdued); margin: 0.4rem 0 0;
}
.qa-card {
  border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 0.7rem 0.85rem;
  background: var(--background-fill-primary); display: flex; flex-direction: column; gap: 0.35rem;
}
.qa-card-h { display: flex; gap: 0.5rem; align-items: baseline; }
.qa-num {
  flex: none; min-width: 1.4rem; height: 1.4rem; border-radius: 999px; font-size: 0.75rem; font-weight: 700;
  display: inline-flex; align-items: center; justify-content: center;
  background: var(--color-accent); color: white;
}
.qa-num.qa-near { background: var(--neutral-400); }
.qa-title { font-weight: 650; line-height: 1.3; }
.qa-meta { font-size: 0.8rem; color: var(--body-text-color-subdued); display: flex; flex-wrap: wrap; gap: 0.1rem 0.7rem; }
.qa-passage { font-size: 0.88rem; line-height: 1.5; color: var(--body-text-color); }
.qa-passage mark {
  background: #fff0a6; color: #1f2328; border-radius: 3px; padding: 0 0.1em;
}
.qa-scores { font-size: 0.75rem; color: var(--body-text-color-subdued); font-variant-numeric: tabular-nums; }
.qa-open { font-size: 0.85rem; font-weight: 600; align-self: flex-start; color: var(--color-accent); }
.qa-label {
  font-size: 0.7rem; font-weight: 700; text-transform: uppercase; letter-spacing: 0.05em;
  color: var(--body-text-color-subdued); border: 1px dashed var(--border-color-primary);
  border-radius: 999px; padding: 0 0.45rem; align-self: flex-start;
}
.qa-answer details > summary { cursor: pointer; font-size: 0.85rem; color: var(--body-text-color-subdued); }
.qa-answer details[open] > summary { margin-bottom: 0.5rem; }
.qa-answer details .qa-card { margin-bottom: 0.5rem; }
#qa-articles .qa-list { display: flex; flex-direction: column; gap: 0.6rem; padding-top: 0.5rem; }
#qa-articles .qa-card a { font-weight: 650; font-size: 1rem; text-decoration: none; color: var(--body-text-color);
  text-align: left; align-self: flex-start; }
#qa-articles .qa-card a:hover { color: var(--color-accent); text-decoration: underline; }
footer { opacity: 0.7; }
@media (max-width: 640px) {
  #qa-header h1 { font-size: 1.2rem; }
  #qa-header .qa-sub { font-size: 0.82rem; }
  #qa-header .qa-tag, #qa-hint { display: none; }
  .qa-card { padding: 0.6rem 0.65rem; }
}
"""


PLACEHOLDER = (
    "**Ask about the articles.** Answers are quoted word for word, "
    "each with its source and a link to the passage."
)

# Scroll only the chat's own log (never the page): to the end once a question is added,
# then to the newest question so its answer reads from the top; the chatbot's
# autoscroll would leave the reader at the end of the source cards.
SCROLL_END_JS = """() => {
  const log = document.querySelector('#qa-chat [role=log]');
  if (log) { log.scrollTop = log.scrollHeight; }
}"""
SCROLL_JS = """() => {
  const log = document.querySelector('#qa-chat [role=log]');
  const rows = document.querySelectorAll('#qa-chat .message-row.user-row');
  const last = rows[rows.length - 1];
  if (log && last) {
    const top = log.scrollTop + last.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
    log.scrollTo({top: top, behavior: 'smooth'});
  }
}"""

# The Evaluation tab's own rules, scoped to its elements (qa/web/eval_tab.py).
EVAL_STYLE = """<style>
#qa-eval-style { display: none !important; }
#qa-eval-actions { align-items: center; gap: 0.6rem; flex-wrap: wrap; }
#qa-eval-actions > button { flex: none; }
#qa-eval-intro p { margin: 0; font-size: 0.92rem; }
#qa-eval-hint p { margin: 0; font-size: 0.82rem; color: var(--body-text-color-subdued); }
#qa-eval-status p { margin: 0; }
#qa-eval-status .qa-eval-error { color: var(--error-text-color, #b42318); font-weight: 600; }
#qa-eval-results h3 { font-size: 1rem; margin: 0.6rem 0 0; }
#qa-eval-results .qa-eval-note p { margin: 0; font-size: 0.8rem; color: var(--body-text-color-subdued); }
#qa-eval-results [role=grid] * { font-family: var(--font); }
/* Tables measure their container: keep their content from widening the page on a phone. */
#qa-eval-metrics, #qa-eval-by-type, #qa-eval-failures { contain: inline-size; min-width: 0 !important; }
#qa-eval-failures [role=gridcell] span { font-size: 0.85rem; line-height: 1.4; }
#qa-eval-plot img { max-width: min(620px, 100%); height: auto; margin: 0 auto; display: block; }
</style>"""
