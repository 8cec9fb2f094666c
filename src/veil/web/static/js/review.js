// The reviewer page: one item at a time, its picture blurred and in greyscale until
// the reviewer deliberately reveals it, and blurred again after a few seconds or when
// moving on. Animated pictures are drawn as their first frame only (no autoplay).
// Every call sends the session's CSRF token; the session cookie itself is HttpOnly.

const csrf = document.querySelector('meta[name="veil-csrf"]').content;
const revealSeconds = Number(document.body.dataset.revealS) || 10;
const $ = (id) => document.getElementById(id);

let current = null;
let revealTimer = null;
let busy = false;

async function call(path, body) {
  const r = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
    body: JSON.stringify(body || {}),
  });
  if (r.status === 401) {
    window.location.replace('/review'); // the session ended: log in again
    throw new Error('session ended');
  }
  const data = await r.json();
  if (!r.ok) throw new Error((data.error && data.error.message) || `error ${r.status}`);
  return data;
}

function say(text) {
  $('status').textContent = text;
}

function show(panel) {
  for (const id of ['item', 'break', 'empty']) $(id).hidden = id !== panel;
}

function veil() {
  clearTimeout(revealTimer);
  revealTimer = null;
  const pic = $('picture');
  pic.classList.add('veiled');
  pic.classList.remove('revealed', 'in-colour');
  pic.setAttribute('aria-label', 'The uploaded picture, blurred and in greyscale');
  $('reveal').innerHTML = 'Reveal <kbd>R</kbd>';
  $('colour').disabled = true;
  $('colour').setAttribute('aria-pressed', 'false');
  $('picture-state').textContent = 'Blurred and in greyscale. Reveal it only if you need to.';
}

async function reveal() {
  if (!current) return;
  const pic = $('picture');
  if (!pic.classList.contains('veiled')) {
    veil();
    return;
  }
  const answer = await call(`/review/api/items/${current.id}/reveal`);
  const seconds = answer.reveal_s || revealSeconds;
  pic.classList.remove('veiled');
  pic.classList.add('revealed');
  pic.setAttribute('aria-label', 'The uploaded picture, revealed');
  $('reveal').innerHTML = 'Blur again <kbd>R</kbd>';
  $('colour').disabled = false;
  $('picture-state').textContent = `Revealed in greyscale; blurred again in ${seconds} seconds.`;
  revealTimer = setTimeout(veil, seconds * 1000);
}

function colour() {
  const pic = $('picture');
  if (!pic.classList.contains('revealed')) return;
  const on = pic.classList.toggle('in-colour');
  $('colour').setAttribute('aria-pressed', String(on));
}

function timeLeft(seconds) {
  const abs = Math.abs(seconds);
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const span = h ? `${h} h ${m} min` : `${m} min`;
  return seconds >= 0 ? `Act within ${span}` : `Overdue by ${span}`;
}

function fillList(list, lines) {
  list.replaceChildren(...lines.map((line) => {
    const li = document.createElement('li');
    li.textContent = line;
    return li;
  }));
}

async function drawPicture(item) {
  const canvas = $('picture');
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  delete canvas.dataset.drawn;
  $('media-note').hidden = true;
  if (!item.has_media) {
    $('media-note').textContent = 'The media of this item has been purged.';
    $('media-note').hidden = false;
    canvas.dataset.drawn = item.id;
    return;
  }
  try {
    const r = await fetch(`/review/api/items/${item.id}/media`, { credentials: 'same-origin',
                                                                  cache: 'no-store' });
    if (!r.ok) throw new Error(`error ${r.status}`);
    // createImageBitmap takes an animated picture's first frame: nothing plays
    const bitmap = await createImageBitmap(await r.blob());
    if (current !== item) return; // moved on meanwhile
    const scale = Math.min(1, 480 / bitmap.width, 360 / bitmap.height);
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
  } catch {
    $('media-note').textContent = 'This picture cannot be shown here (its format, or it '
      + 'could not be read).';
    $('media-note').hidden = false;
  }
  canvas.dataset.drawn = item.id; // what the tests wait for
}

function placeRegion(region) {
  const box = $('region');
  if (!region) {
    box.hidden = true;
    return;
  }
  box.style.left = `${region.x * 100}%`;
  box.style.top = `${region.y * 100}%`;
  box.style.width = `${region.w * 100}%`;
  box.style.height = `${region.h * 100}%`;
  box.hidden = false;
}

function showItem(item) {
  current = item;
  veil();
  $('item-id').textContent = item.id;
  const deadline = $('deadline');
  deadline.textContent = `${timeLeft(item.time_left_s)} (by ${item.act_by})`;
  deadline.classList.toggle('overdue', item.time_left_s < 0);
  $('source').textContent = {
    scan: 'a scan whose verdict was review',
    review_request: 'a platform asked for review',
    report: 'a user report',
  }[item.source] || item.source;
  $('platform').textContent = item.platform;
  $('verdict').textContent = `${item.decision} (${item.matches_total} matching entries)`;
  $('report').textContent = item.source === 'report'
    ? [item.report_reason, item.report_notes].filter(Boolean).join(': ') || '(no reason given)'
    : '—';
  fillList($('reasons'), item.reasons);
  fillList($('history'), item.decisions.length
    ? item.decisions.map((d) => `${d.code} by ${d.actor} at ${d.at}`) : ['none']);
  $('note').value = '';
  placeRegion(item.region);
  show('item');
  $('item-h').focus();
  drawPicture(item);
}

async function next() {
  veil();
  current = null;
  const answer = await call('/review/api/next');
  if (answer.item) {
    say(`${answer.waiting} item(s) waiting.`);
    showItem(answer.item);
  } else if (answer.break) {
    say('');
    show('break');
    $('break-done').focus();
  } else {
    say('');
    show('empty');
  }
}

async function act(fn) {
  if (busy) return;
  busy = true;
  try {
    await fn();
  } catch (e) {
    say(String(e.message || e));
  } finally {
    busy = false;
  }
}

function decide(code) {
  if (!current) return;
  const item = current;
  act(async () => {
    veil();
    const note = $('note').value.trim() || null;
    await call(`/review/api/items/${item.id}/decision`, { code, note });
    await next();
    say(`Decided ${code}. ${$('status').textContent}`);
  });
}

function skip() {
  if (!current) return;
  const item = current;
  act(async () => {
    await call(`/review/api/items/${item.id}/skip`);
    await next();
  });
}

function tookBreak() {
  if ($('break').hidden) return;
  act(async () => {
    await call('/review/api/break');
    await next();
  });
}

document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t && (t.tagName === 'TEXTAREA' || t.tagName === 'INPUT')) return;
  const key = e.key.toLowerCase();
  const onItem = !$('item').hidden;
  if (key === 'r' && onItem) act(reveal);
  else if (key === 'c' && onItem) colour();
  else if (['1', '2', '3', '4'].includes(key) && onItem) {
    decide(['confirmed_ncii', 'synthetic_ncii', 'not_ncii', 'unclear'][Number(key) - 1]);
  } else if (key === 's' && onItem) skip();
  else if (key === 'b') tookBreak();
  else return;
  e.preventDefault();
});

$('reveal').addEventListener('click', () => act(reveal));
$('colour').addEventListener('click', colour);
$('skip').addEventListener('click', skip);
$('break-done').addEventListener('click', tookBreak);
$('refresh').addEventListener('click', () => act(next));
for (const button of document.querySelectorAll('button.decide')) {
  button.addEventListener('click', () => decide(button.dataset.code));
}
$('logout').addEventListener('click', () => act(async () => {
  await call('/review/logout');
  window.location.replace('/review');
}));
// moving away from the page blurs the picture again
document.addEventListener('visibilitychange', () => {
  if (document.hidden) veil();
});

act(next).finally(() => {
  document.body.dataset.ready = 'true';
});
