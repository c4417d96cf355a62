/**
 * The dashboard at `/`: every job of this browser (and of the link or token it was opened with)
 * as a card, all on one multiplexed stream through the browser client. Open mode: a form starts
 * jobs. With `#token=…` (a subscribe token): watch-only, the jobs the token names.
 */
import { watch } from '/client.js';
import { PROFILES, emptyView } from '/dashboard-profiles.js';

const STORE = 'sse-relay.dashboard.jobs';
const RECENT = 24;

const fragment = new URLSearchParams(location.hash.slice(1));
const token = fragment.get('token') ?? undefined;
const $ = (selector, root = document) => root.querySelector(selector);
const cards = new Map(); // job name → { root, view, profile }
let stream;
let canStart = false;

/** The jobs a token names, as `<profile>/<id>` (a bare id is the first profile's). */
function jobsOfToken(value, profiles) {
  try {
    const part = value.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
    return (claims.jobs ?? []).map((entry) => {
      const profile = profiles.find((name) => entry.startsWith(`${name}:`));
      return profile ? `${profile}/${entry.slice(profile.length + 1)}` : `${profiles[0]}/${entry}`;
    });
  } catch {
    return [];
  }
}

const stored = () => {
  try {
    return JSON.parse(localStorage.getItem(STORE) ?? '[]');
  } catch {
    return [];
  }
};

function remember(name) {
  const jobs = [name, ...stored().filter((each) => each !== name)].slice(0, RECENT);
  localStorage.setItem(STORE, JSON.stringify(jobs));
}

const splitName = (name) => {
  const slash = name.indexOf('/');
  return { profile: name.slice(0, slash), id: name.slice(slash + 1) };
};

function mediaUrl(name, n) {
  const { profile, id } = splitName(name);
  return `/v1/jobs/${profile}/${encodeURIComponent(id)}/media/${n}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

function addJob(name) {
  // From a link, a token or storage: only `<profile>/<id>`.
  if (typeof name !== 'string' || !/^[\w-]+\/./.test(name) || cards.has(name)) return;
  const { profile, id } = splitName(name);
  const root = $('#card').content.firstElementChild.cloneNode(true);
  root.dataset.job = name;
  $('.title', root).textContent = `${profile} · ${id}`;
  $('.title', root).title = name;
  const card = { root, view: emptyView(), profile: PROFILES[profile] };
  cards.set(name, card);
  $('#jobs').prepend(root);
  $('#empty').hidden = true;
  render(name, card);
  stream.add(name);
}

function render(name, card) {
  const { root, view } = card;
  root.dataset.status = view.status;
  $('.status', root).textContent = view.status;
  const bar = $('progress', root);
  if (view.progress === undefined) {
    bar.removeAttribute('value');
    $('.percent', root).textContent = '…';
  } else {
    bar.value = view.progress;
    $('.percent', root).textContent = `${view.progress} %`;
  }
  $('.prompt', root).textContent = view.prompt ?? '';
  const result = $('.result', root);
  if (view.media > 0 && result.querySelectorAll('img').length !== view.media) {
    const images = document.createElement('div');
    images.className = 'images';
    for (let n = 0; n < view.media; n++) {
      const img = document.createElement('img');
      img.alt = `image ${n + 1}`;
      img.src = mediaUrl(name, n);
      images.append(img);
    }
    result.replaceChildren(images);
  }
  if (view.text !== undefined) {
    let text = $('.text', result);
    if (!text) result.append((text = Object.assign(document.createElement('div'), { className: 'text' })));
    text.textContent = view.text;
  }
  const buttons = $('.buttons', root);
  if (canStart && card.profile?.button && root.dataset.over === 'true' && buttons.childElementCount !== view.buttons.length) {
    buttons.replaceChildren(
      ...view.buttons.map((label) => {
        const button = Object.assign(document.createElement('button'), { type: 'button', textContent: label === '🔄' ? 'Reroll' : label });
        button.dataset.button = label;
        button.addEventListener('click', () => startWith(() => card.profile.button(splitName(name).id, label), 'midjourney-v3'));
        return button;
      }),
    );
  }
}

function logLine(name, text, seq, className) {
  const card = cards.get(name);
  if (!card) return;
  const item = document.createElement('li');
  item.textContent = text;
  if (seq !== undefined) {
    item.value = seq;
    item.dataset.seq = String(seq);
  }
  if (className) item.className = className;
  $('.log', card.root).append(item);
}

function onEvent(frame) {
  const card = cards.get(frame.job);
  if (!card) return;
  card.profile?.apply(card.view, frame.event ?? {});
  if (frame.terminal) {
    card.root.dataset.over = 'true';
    if (!card.view.failed) card.view.progress = 100;
  }
  card.root.dataset.failed = String(card.view.failed);
  logLine(frame.job, `${frame.seq} · ${card.profile?.summary(frame.event ?? {}) ?? JSON.stringify(frame.event).slice(0, 80)}`, frame.seq);
  render(frame.job, card);
}

function onGap(gap) {
  const card = cards.get(gap.job);
  if (card && gap.latest) {
    card.profile?.applyLatest?.(card.view, gap.latest);
    render(gap.job, card);
  }
  logLine(gap.job, `gap: events ${gap.from}–${gap.to} are no longer kept${gap.latest ? ' (latest state re-read)' : ''}`, undefined, 'gap');
}

/** The gateway refused the stream: for one job (no longer known, not in the token), that job's card says so and it is forgotten. */
function showRefusal(error) {
  $('#stream-error').textContent = error.message;
  const card = error.job === undefined ? undefined : cards.get(error.job);
  if (!card) return;
  card.view.status = 'refused';
  card.view.failed = true;
  card.root.dataset.failed = 'true';
  render(error.job, card);
  localStorage.setItem(STORE, JSON.stringify(stored().filter((name) => name !== error.job)));
}

function showConnection(state) {
  const indicator = $('#connection');
  indicator.dataset.state = state;
  indicator.textContent = { open: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…', closed: 'idle' }[state] ?? state;
}

async function startWith(start, profile, prompt) {
  const error = $('#form-error');
  error.textContent = '';
  try {
    const id = await start();
    const name = `${profile}/${id}`;
    remember(name);
    addJob(name);
    const card = cards.get(name);
    if (card && prompt) {
      card.view.prompt ??= prompt;
      render(name, card);
    }
  } catch (err) {
    error.textContent = `${profile}: ${err.message}`;
  }
}

async function main() {
  const info = await fetch('/v1/profiles').then((response) => response.json());
  canStart = info.open && !token;
  $('#mode').textContent = token
    ? 'watch-only: the jobs of the token in this link'
    : info.open
      ? 'open mode: jobs start on the gateway’s upstream account'
      : 'secured: open this page with #token=<a subscribe token>';
  stream = watch([], { onEvent, onGap, onState: showConnection, onError: showRefusal }, { token });
  if (canStart) {
    const select = $('#profile');
    for (const name of info.profiles.filter((each) => PROFILES[each])) select.append(new Option(PROFILES[name].label, name));
    const form = $('#start');
    form.hidden = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const profile = select.value;
      const prompt = $('#prompt').value;
      startWith(() => PROFILES[profile].start(prompt), profile, prompt);
    });
  }
  const initial = token ? jobsOfToken(token, info.profiles) : [...stored().reverse(), ...(fragment.get('jobs')?.split(',') ?? [])];
  for (const name of initial) addJob(name);
  // Jobs started in another tab of this browser appear here too.
  addEventListener('storage', (event) => {
    if (event.key === STORE && !token) for (const name of stored().reverse()) addJob(name);
  });
}

main().catch((err) => {
  $('#form-error').textContent = `dashboard failed to start: ${err.message}`;
});
