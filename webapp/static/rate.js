// Rater page of a listening test (ITU-T P.808: ACR, DCR, P.835, the comparison methods CCR, A/B
// and ranking, and MUSHRA pages of ITU-R BS.1534-3), a client of the rating API in
// docs/rating-api.md. All answers live on the server, so a reload, or another browser opened
// with the same link, resumes at the first unanswered step; a MUSHRA page's scores not sent yet
// are kept in this browser (localStorage) until the rater moves on.
'use strict';
(() => {
  const REDIRECT_SECONDS = 5;
  const testId = (location.pathname.match(/\/rate\/([^/]+)/) || [])[1] || '';
  const params = new URLSearchParams(location.search);
  let state = null;       // the session body from the server, updated as answers are stored
  let busy = false;       // an answer is being sent: ignore further clicks and keys
  let keyHandler = null;  // keyboard shortcut of the current step, if any
  let leaveStep = null;   // stops what the current step runs (a MUSHRA page's player)
  let spaceTaken = false; // the step's handler took this Space press (see keyup)

  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Builds DOM nodes; text is always set as text, never parsed as HTML.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, '');
      else if (value !== false && value != null) node.setAttribute(key, value);
    }
    for (const child of children.flat()) if (child != null) node.append(child);
    return node;
  }

  // localStorage can be missing or full (private windows): then we only remember in memory.
  const memory = {};
  const store = {
    get(key) { try { return localStorage.getItem(key) ?? memory[key]; } catch (e) { return memory[key]; } },
    set(key, value) { memory[key] = value; try { localStorage.setItem(key, value); } catch (e) { /* memory only */ } },
    remove(key) { delete memory[key]; try { localStorage.removeItem(key); } catch (e) { /* memory only */ } },
  };

  function status(text) { $('status').textContent = text; }
  const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1);
  function showError(text) { $('error').textContent = sentence(text); $('error').hidden = !text; }
  const errorText = (res) => (res.data && (res.data.error || (typeof res.data.detail === 'string' && res.data.detail)))
    || `The server could not take this request (HTTP ${res.status}).`;

  // One API call. Network failures and 5xx answers are retried with backoff and the very same
  // body (the server counts a resent answer once); 2xx and 4xx answers are returned.
  async function api(method, path, body) {
    const init = { method, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body),
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' } };
    for (let attempt = 0; ; attempt += 1) {
      let res = null;
      try { res = await fetch(path, init); } catch (e) { res = null; }
      if (res && res.status < 500) {
        status('');
        let data = {};
        try { data = await res.json(); } catch (e) { data = {}; }
        return { ok: res.ok, status: res.status, data };
      }
      const wait = Math.min(30000, 1000 * 2 ** attempt);
      status(`Connection problem; trying again in ${Math.round(wait / 1000)} s. Your earlier answers are saved.`);
      await sleep(wait);
    }
  }

  const sessionUrl = () => `/api/sessions/${encodeURIComponent(state.session)}`;
  const participant = () => params.get('PROLIFIC_PID') || params.get('participant') || '';
  const doneKey = () => `rate:done:${testId}:${participant()}`;
  const consentKey = () => `rate:consent:${state.session}`;

  // Replaces the current step; focus goes to the step's [data-focus] element or its heading,
  // so keyboard and screen-reader users start at the new step.
  function show(...nodes) {
    keyHandler = null;
    if (leaveStep) { leaveStep(); leaveStep = null; }
    const step = $('step');
    step.querySelectorAll('audio').forEach((audio) => audio.pause());
    step.replaceChildren(...nodes.flat().filter((node) => node != null));  // no stray "null" text
    showError('');
    const target = step.querySelector('[data-focus]') || step.querySelector('h1');
    if (target) target.focus();
  }
  const heading = (text) => el('h1', { tabindex: '-1' }, text);
  const actions = (...buttons) => el('div', { class: 'actions' }, buttons);

  // A step that cannot go on: the server's sentence, said politely. `again` offers a reload,
  // which resumes or starts a session as the server decides.
  function stop(message, again) {
    show(heading('We are sorry'), el('p', { class: 'error', role: 'alert' }, sentence(message)),
      el('p', {}, 'If you think this is a mistake, please contact the researcher who sent you the link.'),
      again ? actions(el('button', { type: 'button', onclick: () => location.reload() }, 'Reload the page')) : null);
  }

  // Instructions are markdown; paragraphs, lists and headings are shown as plain text.
  const plain = (s) => s.replace(/\*\*|__|`/g, '').replace(/\[([^\]]+)\]\(([^)]+)\)/g, '$1 ($2)');
  function markdown(text) {
    const out = [];
    const bullet = /^([-*+]|\d+[.)])\s+/;
    for (const block of String(text || '').split(/\n\s*\n/)) {
      const lines = block.trim().split('\n').map((line) => line.trim());
      if (!lines[0]) continue;
      if (bullet.test(lines[0])) {  // a list; unmarked lines continue the item above
        const entries = [];
        for (const line of lines) {
          if (bullet.test(line)) entries.push(line.replace(bullet, ''));
          else entries[entries.length - 1] += ` ${line}`;
        }
        out.push(el('ul', {}, entries.map((entry) => el('li', {}, plain(entry)))));
      } else if (lines.length === 1 && /^#{1,6}\s/.test(lines[0])) {
        out.push(el('h2', {}, plain(lines[0].replace(/^#+\s*/, ''))));
      } else {
        out.push(el('p', {}, plain(lines.join(' '))));
      }
    }
    return out;
  }

  // A play button and a position bar, without seeking, so that "ended" means "heard to the end".
  function player(url, label, onEnded) {
    const audio = el('audio', { preload: 'auto', src: url });
    const bar = el('progress', { max: '1', value: '0', 'aria-label': `${label}: position` });
    const button = el('button', { type: 'button', class: 'play' }, `▶ ${label}`);
    button.addEventListener('click', () => {
      if (!audio.paused) return audio.pause();
      audio.play().catch(() => status('The browser did not start the audio; please press play again.'));
    });
    audio.addEventListener('play', () => {
      // Only one sound at a time (A and B of a pair).
      $('step').querySelectorAll('audio').forEach((other) => other !== audio && other.pause());
      button.textContent = '❚❚ Pause';
    });
    audio.addEventListener('pause', () => { button.textContent = `▶ ${label}`; });
    audio.addEventListener('timeupdate', () => { if (audio.duration) bar.value = audio.currentTime / audio.duration; });
    audio.addEventListener('ended', () => { bar.value = 1; button.textContent = `↻ ${label} again`; if (onEnded) onEnded(); });
    audio.addEventListener('error', () => showError('The audio could not be loaded. Please check your connection and reload the page.'));
    return { node: el('div', { class: 'player' }, button, bar, audio), audio, button };
  }

  // A MUSHRA stimulus belongs to a page of several; everything else is a step of its own.
  const isPaged = (item) => item.page !== undefined && item.page !== null;

  // Progress in steps the rater sees: one per clip or pair, one per MUSHRA page.
  function updateProgress() {
    const steps = new Map();
    for (const item of state.items) {
      const key = isPaged(item) ? `page:${item.page}` : `item:${item.item}`;
      steps.set(key, (steps.has(key) ? steps.get(key) : true) && Boolean(item.answered));
    }
    const answered = [...steps.values()].filter(Boolean).length;
    const paged = state.items.some(isPaged);
    $('progress-row').hidden = false;
    $('progress-bar').value = steps.size ? answered / steps.size : 0;
    $('progress').textContent = paged ? `${answered} of ${steps.size} pages done` : `${answered} of ${steps.size} answered`;
  }

  // The first thing still to do, with a key to tell whether a reload moved us on.
  function nextStep() {
    if (state.status === 'submitted') return { kind: 'done', key: 'done' };
    if (state.status !== 'in_progress') return { kind: 'ended', key: 'ended' };  // e.g. expired
    if (!store.get(consentKey())) return { kind: 'consent', key: 'consent' };
    const check = (state.checks || []).find((c) => !c.answered);
    if (check) return { kind: check.kind, key: `check:${check.id}`, check };
    const item = state.items.find((i) => !i.answered);
    if (item && isPaged(item)) return { kind: 'page', key: `page:${item.page}`, item };
    if (item) return { kind: 'item', key: `item:${item.item}`, item };
    return { kind: 'finish', key: 'finish' };
  }

  function render() {
    updateProgress();
    const step = nextStep();
    const views = { done: () => showDone(false), ended, consent: showConsent, finish,
      qualification: showQualification, volume: showVolume, stereo: showStereo,
      environment: showEnvironment, item: () => (isPair(step.item) ? showPair(step.item) : showItem(step.item)),
      page: () => showPage(step.item.page) };
    if (!views[step.kind]) return stop(`This page does not know the check "${step.kind}". Please contact the researcher.`);
    return step.check ? views[step.kind](step.check) : views[step.kind]();
  }

  // Stores one answer; the step changes only after the server said it was stored.
  async function send(url, body, controls, onStored) {
    if (busy) return;
    busy = true;
    controls.forEach((control) => { control.disabled = true; });
    status('Saving…');
    const res = await api('PUT', url, body);
    busy = false;
    if (res.ok) { onStored(); return render(); }
    const message = errorText(res);
    if (res.status === 422) {  // malformed or too early: the rater can try again
      showError(message);
      return controls.forEach((control) => { control.disabled = false; });
    }
    // Answered in another tab, checks missing, test closed...: follow the server's state.
    await resync(message);
  }
  const answerCheck = (check, answer, controls) => send(
    `${sessionUrl()}/checks/${encodeURIComponent(check.id)}`, { answer }, controls, () => { check.answered = true; });

  async function resync(message) {
    const before = nextStep().key;
    const res = await api('GET', sessionUrl());
    if (!res.ok) return stop(message);
    state = res.data;
    if (nextStep().key === before || nextStep().kind === 'ended') return stop(message, true);
    return render();
  }
  const ended = () => stop('This session is no longer open. You can start a new one from the same link.', true);

  function showConsent() {
    show(heading(state.test.name || 'Listening test'),
      el('div', { class: 'instructions' }, markdown(state.test.instructions)),
      el('p', {}, 'By pressing “I agree” you agree to take part in this listening test and to your answers being stored and used for research.'),
      actions(el('button', { type: 'button', class: 'primary', onclick: () => { store.set(consentKey(), '1'); render(); } }, 'I agree')));
  }

  function showQualification(check) {
    const go = el('button', { type: 'submit', class: 'primary' }, 'Continue');
    const sets = check.questions.map((q, qi) => el('fieldset', {}, el('legend', {}, q.text),
      q.options.map((option) => el('label', {}, el('input', { type: 'radio', name: `q${qi}`, value: option }), ' ', option))));
    const form = el('form', { novalidate: true }, sets, actions(go));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const answer = {};
      check.questions.forEach((q, qi) => {
        const chosen = form.querySelector(`input[name="q${qi}"]:checked`);
        if (chosen) answer[q.id] = chosen.value;
      });
      if (Object.keys(answer).length < check.questions.length) return showError('Please answer every question.');
      return answerCheck(check, answer, [go]);
    });
    show(heading('A few questions first'), form);
  }

  function showVolume(check) {
    const done = el('button', { type: 'button', class: 'primary', disabled: true,
      onclick: () => answerCheck(check, 'done', [done]) }, 'I adjusted the volume');
    const sample = player(check.audio_url, 'Play sample');
    sample.button.setAttribute('data-focus', '');
    sample.audio.addEventListener('play', () => { done.disabled = false; }, { once: true });
    show(heading('Set your volume'),
      el('p', {}, 'Play the sample and set your device’s volume to a comfortable level. Please keep that volume for the whole test.'),
      sample.node, actions(done));
  }

  function showStereo(check) {
    const input = (id) => el('input', { type: 'text', id, inputmode: 'numeric', autocomplete: 'off', maxlength: '1' });
    const [left, right] = [input('stereo-left'), input('stereo-right')];
    const go = el('button', { type: 'submit', class: 'primary', disabled: true }, 'Continue');
    const sample = player(check.audio_url, 'Play sample', () => { go.disabled = busy; });
    sample.button.setAttribute('data-focus', '');
    const form = el('form', { novalidate: true },
      el('label', { for: 'stereo-left' }, 'Digit in the LEFT ear'), left,
      el('label', { for: 'stereo-right' }, 'Digit in the RIGHT ear'), right, actions(go));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const answer = { left: left.value.trim(), right: right.value.trim() };
      if (!answer.left || !answer.right) return showError('Please type the digit you heard in each ear.');
      return answerCheck(check, answer, [go]);
    });
    show(heading('Check your headphones'),
      el('p', {}, 'Put on both earphones and play the sample: you will hear one digit in your left ear and another in your right ear.'),
      sample.node, form);
  }

  function showEnvironment(check) {
    const pairs = state.checks.filter((c) => c.kind === 'environment');
    const heard = new Set();
    const hint = el('p', { class: 'hint', 'aria-live': 'polite' }, 'Play both samples to the end, then answer.');
    const choices = check.options.map((option) => el('button', { type: 'button', disabled: true,
      onclick: () => answerCheck(check, option, choices) }, option));
    const unlock = (side) => () => {
      heard.add(side);
      if (heard.size === 2 && !busy) { choices.forEach((c) => { c.disabled = false; }); hint.textContent = 'Now choose your answer.'; }
    };
    const a = player(check.audio_url_a, 'Play A', unlock('a'));
    const b = player(check.audio_url_b, 'Play B', unlock('b'));
    a.button.setAttribute('data-focus', '');
    show(heading(`Listening check ${pairs.indexOf(check) + 1} of ${pairs.length}`),
      el('div', { class: 'players' }, a.node, b.node),
      el('fieldset', {}, el('legend', {}, check.question), el('div', { class: 'choices' }, choices)), hint);
  }

  // The questions of a one-clip item, from the session body: several (P.835: SIG, BAK, OVRL,
  // each with its own scale, in the order the server chose) or the one question and scale.
  const clipQuestions = () => (Array.isArray(state.test.questions) && state.test.questions.length
    ? state.test.questions : [{ scale: null, question: state.test.question, options: state.test.scale }]);

  function showItem(item) {
    const shownAt = performance.now();
    const group = state.items.filter((i) => i.phase === item.phase);
    const training = item.phase === 'training';
    const questions = clipQuestions();
    const several = questions.length > 1;
    const chosen = {};
    const hint = el('p', { class: 'hint', id: 'vote-hint', 'aria-live': 'polite' }, 'Listen to the whole clip; the rating buttons unlock when it ends.');
    const sets = questions.map((q, qi) => {
      const options = [...q.options].sort((x, y) => y.value - x.value);  // best first, as in P.808
      const buttons = options.map((s) => el('button', { type: 'button', disabled: true, 'data-score': String(s.value),
        'data-question': String(qi), 'aria-keyshortcuts': String(s.value), 'aria-describedby': 'vote-hint',
        'aria-pressed': several ? 'false' : null },
      el('span', { class: 'key', 'aria-hidden': 'true' }, String(s.value)), s.label));
      return { q, buttons, node: el('fieldset', { 'data-scale': q.scale || '' }, el('legend', {}, q.question), el('div', { class: 'scale' }, buttons)) };
    });
    const all = sets.flatMap((set) => set.buttons);
    const elapsed = () => Math.round(performance.now() - shownAt);
    const url = `${sessionUrl()}/votes/${encodeURIComponent(item.item)}`;
    const pick = (qi, score) => {
      if (!several) {
        return send(url, { score, played_to_end: true, elapsed_ms: elapsed() }, all,
          () => Object.assign(item, { answered: true, score }));
      }
      chosen[sets[qi].q.scale] = score;
      sets[qi].buttons.forEach((b) => b.setAttribute('aria-pressed', String(Number(b.dataset.score) === score)));
      const open = sets.find((set) => !(set.q.scale in chosen));
      if (open) { hint.textContent = `Now: ${open.q.question}`; return undefined; }
      const scores = { ...chosen };
      return send(url, { scores, played_to_end: true, elapsed_ms: elapsed() }, all,
        () => Object.assign(item, { answered: true, scores }));
    };
    all.forEach((button) => button.addEventListener('click', () => pick(Number(button.dataset.question), Number(button.dataset.score))));
    const clip = player(item.audio_url, 'Play clip', () => {
      if (!busy) all.forEach((button) => { button.disabled = false; });
      hint.textContent = several ? 'Answer each question (keys 1–5 answer them in turn). You may listen again.'
        : 'Choose your rating (keys 1–5 work too). You may listen again.';
    });
    clip.button.setAttribute('data-focus', '');
    show(heading(`${training ? 'Training clip' : 'Clip'} ${group.indexOf(item) + 1} of ${group.length}`),
      training ? el('p', {}, el('span', { class: 'training' }, 'Training'),
        ' These first clips show you the range of quality in this test. Rate them as you would any other.') : null,
      clip.node, ...sets.map((set) => set.node), hint);
    keyHandler = (key) => {  // 1-5 answers the first open question, once the buttons are unlocked
      const open = sets.find((set) => !(set.q.scale in chosen)) || sets[0];
      const button = open.buttons.find((b) => b.dataset.score === key && !b.disabled);
      if (button && !busy) button.click();
      return Boolean(button);
    };
  }

  // A pair item (CCR, A/B, ranking) carries two sides instead of one clip: the body tells.
  const isPair = (item) => Boolean(item.audio_url_a);

  // The answers of a pair item: CCR rates B against A on the seven-point comparison scale
  // (test.scale, -3..3), A/B and ranking choose a side (test.choices): the body sends one of
  // the two lists, so the page never needs the method's name.
  function pairAnswers() {
    const test = state.test;
    const choices = Array.isArray(test.choices) ? test.choices : [];
    if (choices.length) {
      const keys = { a: 'A', b: 'B', none: 'N' };
      return { field: 'choice', options: choices.map((c) => ({ value: String(c.value), label: c.label || String(c.value),
        key: keys[String(c.value).toLowerCase()] || '' })) };
    }
    // Keys 1..7 from the worst answer up, shown best first as P.808's CCR page does.
    const scale = [...(test.scale || [])].sort((x, y) => x.value - y.value)
      .map((s, k) => ({ value: s.value, label: s.label, key: String(k + 1) }));
    return { field: 'score', options: scale.reverse() };
  }

  function showPair(item) {
    const shownAt = performance.now();
    const group = state.items.filter((i) => i.phase === item.phase);
    const training = item.phase === 'training';
    const answers = pairAnswers();
    const ccr = answers.field === 'score';
    const keyNames = answers.options.map((o) => o.key).filter(Boolean);
    const keysText = ccr ? `keys ${keyNames[keyNames.length - 1]}–${keyNames[0]} or the arrow keys`
      : `keys ${keyNames.join(', ')} or the arrow keys`;
    const hint = el('p', { class: 'hint', id: 'vote-hint', 'aria-live': 'polite' },
      'Listen to every sample to its end; the answer buttons unlock when you have.');
    const buttons = answers.options.map((o) => el('button', { type: 'button', disabled: true,
      'data-value': String(o.value), 'aria-keyshortcuts': o.key || false, 'aria-describedby': 'vote-hint' },
    o.key ? el('span', { class: 'key', 'aria-hidden': 'true' }, o.key) : null, o.label));
    const answer = (option) => {
      const value = answers.field === 'score' ? Number(option.value) : option.value;
      return send(`${sessionUrl()}/votes/${encodeURIComponent(item.item)}`,
        { [answers.field]: value, played_to_end: true, elapsed_ms: Math.round(performance.now() - shownAt) },
        buttons, () => {
          Object.assign(item, { answered: true, [answers.field]: value });
          status(`Saved your answer: “${option.label}”.`);  // says what was chosen
        });
    };
    buttons.forEach((button, k) => button.addEventListener('click', () => answer(answers.options[k])));
    // Every side must have played to its end on this page load before the buttons unlock.
    const sides = [['a', 'A', item.audio_url_a], ['b', 'B', item.audio_url_b]];
    if (item.original_url) sides.unshift(['original', 'original', item.original_url]);
    const heard = new Set();
    const unlocked = () => heard.size === sides.length;
    const players = sides.map(([side, label, url]) => player(url, `Play ${label}`, () => {
      heard.add(side);
      if (!unlocked()) {
        const left = sides.filter(([s]) => !heard.has(s)).map(([, l]) => l);
        hint.textContent = `Now play ${left.join(' and ')} to the end.`;
        return;
      }
      if (!busy) buttons.forEach((button) => { button.disabled = false; });
      hint.textContent = `Choose your answer (${keysText} work too). You may listen again.`;
    }));
    players.forEach((p, k) => p.node.setAttribute('data-side', sides[k][0]));
    players[0].button.setAttribute('data-focus', '');
    const what = ccr ? 'Compare the second sample (B) with the first (A).' : 'Which of the two samples sounds better?';
    show(heading(`${training ? 'Training pair' : 'Pair'} ${group.indexOf(item) + 1} of ${group.length}`),
      training ? el('p', {}, el('span', { class: 'training' }, 'Training'),
        ' These first pairs show you the range of differences in this test. Answer them as you would any other.') : null,
      el('p', {}, what, ' Only one sample plays at a time.'),
      el('div', { class: 'players' }, players.map((p) => p.node)),
      el('fieldset', {}, el('legend', {}, state.test.question || (ccr ? 'Compared with A, the quality of B is:' : 'Which sample sounds better?')),
        el('div', { class: ccr ? 'scale ccr' : 'choices pair-choices' }, buttons)),
      hint);
    // Arrow keys move between the unlocked answers (focus says which); Enter or Space answers.
    const move = (step) => {
      const current = buttons.indexOf(document.activeElement);
      const start = current < 0 ? (step > 0 ? -1 : buttons.length) : current;
      const index = Math.min(buttons.length - 1, Math.max(0, start + step));
      buttons[index].focus();
      hint.textContent = `Selected “${answers.options[index].label}”; press Enter to answer.`;
    };
    keyHandler = (key) => {
      if (!unlocked() || busy) return false;
      const arrows = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 };
      if (arrows[key]) { move(arrows[key]); return true; }
      const k = answers.options.findIndex((o) => o.key && o.key.toLowerCase() === key.toLowerCase());
      if (k < 0 || buttons[k].disabled) return false;
      buttons[k].click();
      return true;
    };
  }

  // ---- MUSHRA pages (ITU-R BS.1534-3) ------------------------------------------------------
  // A page: the open reference and every stimulus of one input, in the order the server drew
  // for this rater. All are fetched and decoded before anything plays; one transport plays them
  // all at once from the same position with only the selected one audible, so switching is a
  // crossfade of FADE_S at the same point in time: no restart, no gap, no click.
  const FADE_S = 0.01;
  const MIN_HEARD_MS = 500;  // a sample counts as played once heard this long (or to its end)
  let audioContext = null;

  function audioCtx() {
    if (!audioContext) audioContext = new (window.AudioContext || window.webkitAudioContext)();
    return audioContext;
  }

  // Fetches and decodes every URL (three at a time, retried like api()); `onLoaded(n)` counts.
  async function decodeAll(urls, onLoaded) {
    const ctx = audioCtx();
    const buffers = new Array(urls.length);
    let next = 0;
    let loaded = 0;
    const one = async (url) => {
      for (let attempt = 0; ; attempt += 1) {
        let res = null;
        try { res = await fetch(url); } catch (e) { res = null; }
        if (res && res.ok) return ctx.decodeAudioData(await res.arrayBuffer());
        if (res && res.status < 500) throw new Error(errorText({ status: res.status, data: await res.json().catch(() => ({})) }));
        await sleep(Math.min(30000, 1000 * 2 ** attempt));
      }
    };
    const worker = async () => {
      while (next < urls.length) {
        const k = next;
        next += 1;
        buffers[k] = await one(urls[k]);
        loaded += 1;
        onLoaded(loaded);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    return buffers;
  }

  // The transport of a page: every buffer starts on the same sample, each through its own gain;
  // select(k) crossfades the gains. Playback loops over a region (the whole sample unless the
  // rater narrows it), as MUSHRA listening goes back and forth. Positions are seconds on the
  // shared time line.
  function multiPlayer(buffers) {
    const ctx = audioCtx();
    const duration = Math.min(...buffers.map((b) => b.duration));
    const heard = buffers.map(() => 0);  // seconds each buffer was the audible one
    let selected = 0;
    let playing = false;
    let run = null;  // {bus, gains, sources, startCtx, startPos}
    let pausedAt = 0;
    const whole = { start: 0, end: duration };
    let loop = whole;  // {start, end}
    let counted = 0;  // context time up to which `heard` is counted

    function position() {
      if (!playing) return pausedAt;
      const p = run.startPos + Math.max(0, ctx.currentTime - run.startCtx);
      return p < loop.end ? p : loop.start + ((p - loop.start) % (loop.end - loop.start));
    }
    function count() {  // the time since the last count goes to the selected buffer
      const t = ctx.currentTime;
      const from = playing ? Math.max(counted, run.startCtx) : t;
      if (t > from) heard[selected] += t - from;
      counted = t;
    }
    function release() {  // fade the current run out and stop it
      if (!run) return;
      const t = ctx.currentTime;
      const { bus, sources } = run;
      bus.gain.cancelScheduledValues(t);
      bus.gain.setValueAtTime(bus.gain.value, t);
      bus.gain.linearRampToValueAtTime(0, t + FADE_S);
      sources.forEach((s) => { try { s.stop(t + FADE_S + 0.005); } catch (e) { /* stopped */ } });
      run = null;
    }
    function start(from) {
      const pos = from < loop.start || from >= loop.end ? loop.start : from;
      const when = ctx.currentTime + 0.02;  // in the future, so all sources start together
      const bus = ctx.createGain();
      bus.gain.setValueAtTime(0, when);
      bus.gain.linearRampToValueAtTime(1, when + FADE_S);
      bus.connect(ctx.destination);
      const gains = buffers.map((_, k) => {
        const g = ctx.createGain();
        g.gain.value = k === selected ? 1 : 0;
        g.connect(bus);
        return g;
      });
      const sources = buffers.map((buffer, k) => {
        const s = ctx.createBufferSource();
        s.buffer = buffer;
        Object.assign(s, { loop: true, loopStart: loop.start, loopEnd: loop.end });
        s.connect(gains[k]);
        s.start(when, pos);
        return s;
      });
      run = { bus, gains, sources, startCtx: when, startPos: pos };
      counted = when;
      playing = true;
    }
    const restart = () => { const p = position(); release(); start(p); };
    return {
      duration,
      get playing() { return playing; },
      get selected() { return selected; },
      position,
      heardMs(k) { count(); return Math.round(heard[k] * 1000); },
      setHeard(k, ms) { heard[k] = Math.max(heard[k], ms / 1000); },
      play() { if (playing) return; if (ctx.state !== 'running') ctx.resume(); start(pausedAt); },
      pause() { if (!playing) return; count(); pausedAt = position(); playing = false; release(); },
      select(k) {
        if (k === selected) return;
        count();
        if (run) {
          const t = ctx.currentTime;
          [[run.gains[selected], 0], [run.gains[k], 1]].forEach(([g, value]) => {
            g.gain.cancelScheduledValues(t);
            g.gain.setValueAtTime(g.gain.value, t);
            g.gain.linearRampToValueAtTime(value, t + FADE_S);
          });
        }
        selected = k;
      },
      seek(pos) {
        const p = Math.max(0, Math.min(duration, pos));
        count();
        if (playing) { release(); start(p); } else pausedAt = p;
      },
      get loop() { return loop === whole ? null : loop; },
      setLoop(region) {  // null: the whole sample
        count();
        loop = region && region.end - region.start >= 0.05 ? region : whole;
        if (playing) restart();
        else if (pausedAt < loop.start || pausedAt >= loop.end) pausedAt = loop.start;
      },
      stop() { count(); playing = false; release(); },
    };
  }

  const draftKey = (page) => `rate:page:${state.session}:${page}`;
  function loadDraft(page) {
    try {
      const draft = JSON.parse(store.get(draftKey(page)) || '{}');
      return { scores: draft.scores || {}, heard: draft.heard || {} };
    } catch (e) { return { scores: {}, heard: {} }; }
  }
  const seconds = (s) => `${s.toFixed(1)} s`;

  async function showPage(pageNo) {
    const stimuli = state.items.filter((i) => i.page === pageNo);  // the stored order
    const pages = [...new Set(state.items.filter((i) => i.phase === stimuli[0].phase).map((i) => i.page))];
    const training = stimuli[0].phase === 'training';
    const scale = state.test.scale || { min: 0, max: 100, step: 1, labels: [] };
    const title = `${training ? 'Training page' : 'Page'} ${pages.indexOf(pageNo) + 1} of ${pages.length}`;
    const loading = el('p', { class: 'hint', 'aria-live': 'polite' }, 'Loading the samples…');
    show(heading(title), loading);
    let buffers;
    try {
      // The open reference last: fetched first, it would make the server's copy of the same
      // sound warm, and the hidden reference would answer faster than the other samples.
      const urls = [...stimuli.map((s) => s.audio_url), stimuli[0].reference_url];
      const decoded = await decodeAll(urls, (n) => { loading.textContent = `Loading the samples… ${n} of ${urls.length}`; });
      buffers = [decoded[decoded.length - 1], ...decoded.slice(0, -1)];
    } catch (e) {
      return stop(`The samples could not be loaded (${e.message}). Please check your connection and reload the page.`, true);
    }
    if (nextStep().key !== `page:${pageNo}`) return undefined;  // moved on while loading

    const draft = loadDraft(pageNo);
    const saveDraft = () => store.set(draftKey(pageNo), JSON.stringify(draft));
    const player = multiPlayer(buffers);
    // Index 0 is the open reference, 1..n the stimuli; the keys are R and 1..9.
    stimuli.forEach((s, k) => { if (draft.heard[s.item]) player.setHeard(k + 1, draft.heard[s.item]); });
    const needMs = Math.min(MIN_HEARD_MS, Math.floor(player.duration * 1000) - 50);
    const heardEnough = (k) => player.heardMs(k + 1) >= needMs;
    const scoreOf = (s) => (s.answered ? s.score : draft.scores[s.item]);

    const playButton = el('button', { type: 'button', class: 'play primary', 'data-focus': true,
      'aria-keyshortcuts': 'Space', onclick: () => toggle() }, '▶ Play');
    const bar = el('input', { type: 'range', min: '0', max: String(player.duration), step: '0.01', value: '0',
      class: 'seek', 'aria-label': 'Position in the samples' });
    bar.addEventListener('input', () => { player.seek(Number(bar.value)); refresh(); });
    const clock = el('span', { class: 'clock' }, '');
    const loopText = el('span', { class: 'loop-text' }, '');
    const loopButtons = [
      el('button', { type: 'button', 'aria-keyshortcuts': '[', onclick: () => setLoopEdge('start') }, '[ Loop start'),
      el('button', { type: 'button', 'aria-keyshortcuts': ']', onclick: () => setLoopEdge('end') }, 'Loop end ]'),
      el('button', { type: 'button', 'aria-keyshortcuts': 'L', onclick: () => clearLoop() }, 'Whole sample'),
    ];
    let loopStart = null;
    let loopEnd = null;
    function setLoopEdge(edge) {
      const p = player.position();
      if (edge === 'start') loopStart = p; else loopEnd = p;
      const a = loopStart ?? 0;
      const b = loopEnd ?? player.duration;
      if (b - a >= 0.05) player.setLoop({ start: a, end: b });
      refresh();
    }
    function clearLoop() { loopStart = null; loopEnd = null; player.setLoop(null); refresh(); }

    const refButton = el('button', { type: 'button', class: 'stimulus ref', 'data-stimulus': 'R',
      'aria-keyshortcuts': 'R', 'aria-label': 'Reference', onclick: () => choose(0, true) }, 'Ref');
    const columns = stimuli.map((s, k) => {
      const label = String(k + 1);
      const button = el('button', { type: 'button', class: 'stimulus', 'data-stimulus': label,
        'aria-keyshortcuts': k < 9 ? label : false, 'aria-label': `Sample ${label}`, onclick: () => choose(k + 1, true) }, label);
      const given = scoreOf(s);
      const slider = el('input', { type: 'range', min: String(scale.min), max: String(scale.max), step: String(scale.step || 1),
        value: String(given ?? scale.min), disabled: true, 'aria-label': `Score of sample ${label}`, 'data-item-index': label });
      const value = el('output', { class: 'value', 'aria-hidden': 'true' }, given == null ? '–' : String(given));
      const set = (v) => {
        if (s.answered || busy) return;
        const clamped = Math.max(scale.min, Math.min(scale.max, Math.round(v)));
        draft.scores[s.item] = clamped;
        slider.value = String(clamped);
        saveDraft();
        refresh();
      };
      slider.addEventListener('input', () => set(Number(slider.value)));
      slider.addEventListener('change', () => set(Number(slider.value)));
      slider.addEventListener('pointerdown', () => { if (!slider.disabled) choose(k + 1, false); });
      slider.addEventListener('focus', () => { if (player.selected !== k + 1) choose(k + 1, false); });
      return { s, k, label, button, slider, value, set, node: el('div', { class: 'column', 'data-column': label },
        button, el('div', { class: 'track' }, slider), value) };
    });
    const labelColumn = el('div', { class: 'labels', 'aria-hidden': 'true' },
      [...scale.labels].sort((x, y) => y.from - x.from).map((l) => el('span', {}, l.label)));
    const grid = el('div', { class: 'mushra-grid', role: 'group', 'aria-label': 'Scores, 0 to 100' },
      el('div', { class: 'column ref-column' }, refButton, labelColumn), columns.map((c) => c.node));
    grid.style.setProperty('--columns', String(columns.length));

    const next = el('button', { type: 'button', class: 'primary', disabled: true, 'aria-keyshortcuts': 'N',
      onclick: () => savePage() }, pages.indexOf(pageNo) + 1 < pages.length || training ? 'Save and go to the next page' : 'Save and finish');
    const hint = el('p', { class: 'hint', id: 'page-hint', 'aria-live': 'polite' }, '');
    const last = Math.min(columns.length, 9);
    // The keys, listed open where a keyboard is likely (a wide screen), folded on a phone.
    const keys = el('details', { class: 'keys', open: window.matchMedia('(min-width: 48rem)').matches },
      el('summary', {}, 'Keyboard'),
      el('ul', {},
        el('li', {}, el('kbd', {}, 'Space'), ' play or pause'),
        el('li', {}, el('kbd', {}, 'R'), ' the reference, ', el('kbd', {}, '1'), '–', el('kbd', {}, String(last)), ' a sample (playback continues where it is)'),
        el('li', {}, el('kbd', {}, '↑'), ' ', el('kbd', {}, '↓'), ' the selected sample’s score ±1, ', el('kbd', {}, 'Page Up'), ' ', el('kbd', {}, 'Page Down'), ' ±10'),
        el('li', {}, el('kbd', {}, '←'), ' ', el('kbd', {}, '→'), ' back or forward 1 s'),
        el('li', {}, el('kbd', {}, '['), ' ', el('kbd', {}, ']'), ' loop from here, to here, ', el('kbd', {}, 'L'), ' the whole sample'),
        el('li', {}, el('kbd', {}, 'N'), ' save the page and go on')));

    function choose(index, fromButton) {
      player.select(index);
      if (fromButton && !player.playing) player.play();
      const column = columns[index - 1];
      if (fromButton && column && !column.slider.disabled && document.activeElement !== column.slider) column.slider.focus();
      refresh();
    }
    function toggle() { if (player.playing) player.pause(); else player.play(); refresh(); }
    const open = () => columns.filter((c) => !c.s.answered);
    const missing = () => ({ unheard: open().filter((c) => !heardEnough(c.k)), unscored: open().filter((c) => draft.scores[c.s.item] == null) });

    let savedHeardAt = 0;
    function refresh() {
      const pos = player.position();
      if (document.activeElement !== bar) bar.value = String(pos);
      clock.textContent = `${seconds(pos)} / ${seconds(player.duration)}`;
      playButton.textContent = player.playing ? '❚❚ Pause' : '▶ Play';
      const { loop } = player;
      loopText.textContent = loop ? `Looping ${seconds(loop.start)}–${seconds(loop.end)}` : 'Looping the whole sample';
      refButton.setAttribute('aria-pressed', String(player.selected === 0));
      for (const c of columns) {
        c.button.setAttribute('aria-pressed', String(player.selected === c.k + 1));
        const score = scoreOf(c.s);
        c.slider.disabled = c.s.answered || busy || !heardEnough(c.k);
        c.slider.classList.toggle('unset', score == null);
        c.node.classList.toggle('stored', Boolean(c.s.answered));
        c.value.textContent = score == null ? '–' : String(score);
        c.slider.setAttribute('aria-valuetext', score == null ? 'not scored' : `${score}, ${rangeLabel(score)}`);
        if (!c.s.answered) draft.heard[c.s.item] = player.heardMs(c.k + 1);
      }
      const { unheard, unscored } = missing();
      next.disabled = busy || unheard.length > 0 || unscored.length > 0;
      hint.textContent = unheard.length ? `Play every sample and score it; a slider unlocks once its sample played. Still to play: ${unheard.map((c) => c.label).join(', ')}.`
        : unscored.length ? `Still to score: ${unscored.map((c) => c.label).join(', ')}.`
          : 'Every sample is scored. You may still listen and change a score, then save the page (N).';
      if (performance.now() - savedHeardAt > 1000) { savedHeardAt = performance.now(); saveDraft(); }
    }
    function rangeLabel(score) {
      const found = scale.labels.find((l) => score >= l.from && (score < l.to || l.to === scale.max));
      return found ? found.label : '';
    }

    let sent = false;  // the page's scores are all stored: its draft is gone for good
    async function savePage() {
      const { unheard, unscored } = missing();
      if (busy || unheard.length || unscored.length) return;
      busy = true;
      player.pause();
      saveDraft();
      refresh();
      status('Saving…');
      for (const c of open()) {
        const score = draft.scores[c.s.item];
        const res = await api('PUT', `${sessionUrl()}/votes/${encodeURIComponent(c.s.item)}`,
          { score, played_to_end: true, elapsed_ms: Math.max(1, player.heardMs(c.k + 1)) });
        if (!res.ok) {
          busy = false;
          const message = errorText(res);
          if (res.status === 422) { showError(message); return refresh(); }
          return resync(message);
        }
        Object.assign(c.s, { answered: true, score });
      }
      busy = false;
      sent = true;
      store.remove(draftKey(pageNo));
      status(`Saved the scores of ${title.toLowerCase()}.`);
      return render();
    }

    show(heading(title),
      training ? el('p', {}, el('span', { class: 'training' }, 'Training'),
        ' This page shows you the range of quality in this test. Score it as you would any other; it is not counted.') : null,
      el('p', { class: 'question' }, state.test.question || ''),
      el('div', { class: 'transport' }, playButton, bar, clock),
      el('div', { class: 'loop' }, loopButtons, loopText),
      grid, hint, actions(next), keys);
    const ticker = setInterval(refresh, 100);
    leaveStep = () => { clearInterval(ticker); player.stop(); if (!sent) saveDraft(); };
    window.ratePlayer = {  // read-only view for tests: positions and selection, no roles
      state: () => ({ selected: player.selected, playing: player.playing, position: player.position(),
        duration: player.duration, loop: player.loop }),
    };
    refresh();

    const move = (delta) => {
      const column = columns[player.selected - 1];
      if (!column) return true;
      if (column.slider.disabled) {
        showError(column.s.answered ? `Sample ${column.label} was saved already.` : `Play sample ${column.label} first; its slider unlocks once it played.`);
        return true;
      }
      const current = draft.scores[column.s.item];
      column.set(current == null ? (delta > 0 ? scale.min + delta : scale.min) : current + delta);
      if (document.activeElement !== column.slider) column.slider.focus();
      return true;
    };
    keyHandler = (key, event) => {
      if (busy) return false;
      if (key === ' ' || key === 'Spacebar') { toggle(); return true; }
      if (/^[1-9]$/.test(key) && Number(key) <= columns.length) { choose(Number(key), true); return true; }
      const lower = key.length === 1 ? key.toLowerCase() : key;
      if (lower === 'r') { choose(0, true); refButton.focus(); return true; }
      if (lower === '[') { setLoopEdge('start'); return true; }
      if (lower === ']') { setLoopEdge('end'); return true; }
      if (lower === 'l') { clearLoop(); return true; }
      if (lower === 'n') { if (!next.disabled) next.click(); return true; }
      const steps = { ArrowUp: 1, ArrowDown: -1, PageUp: 10, PageDown: -10 };
      if (steps[key] !== undefined) return move(steps[key]);
      if (key === 'ArrowLeft' || key === 'ArrowRight') {
        if (event && event.target === bar) return false;  // the position bar moves itself
        player.seek(player.position() + (key === 'ArrowRight' ? 1 : -1));
        refresh();
        return true;
      }
      return false;
    };
    return undefined;
  }

  async function finish() {
    show(heading('Saving your answers…'));
    const res = await api('POST', `${sessionUrl()}/finish`);
    if (res.ok) {  // remembered, so that a reload shows the code instead of a new session
      store.set(doneKey(), Object.assign(state, res.data).session);
      return showDone(true);
    }
    return resync(errorText(res));  // 409 with items left: go back to them
  }

  function showDone(fresh) {
    const code = state.completion_code;
    const url = /^https?:\/\//i.test(state.redirect_url || '') ? state.redirect_url : null;
    const nodes = [heading('Thank you!')];
    // The clipboard API exists on https and localhost only; elsewhere the rater selects the code.
    const copy = el('button', { type: 'button', onclick: () => (navigator.clipboard
      ? navigator.clipboard.writeText(code) : Promise.reject(new Error('no clipboard')))
      .then(() => status('Copied.'), () => status('Please select the code and copy it.')) }, 'Copy code');
    if (code) nodes.push(el('p', {}, 'Your completion code:'), el('p', { class: 'code', id: 'completion-code' }, code), actions(copy));
    nodes.push(url ? el('p', {}, fresh ? `You will be taken back to Prolific in ${REDIRECT_SECONDS} seconds. ` : '',
      el('a', { href: url, id: 'redirect-link' }, 'Return to Prolific now')) : el('p', {}, 'You can close this page now.'));
    if (url && fresh) setTimeout(() => location.assign(url), REDIRECT_SECONDS * 1000);
    if (!fresh && state.test && state.test.platform !== 'prolific') {
      nodes.push(actions(el('button', { type: 'button', onclick: () => { store.remove(doneKey()); start(); } },
        'Rate another set')));
    }
    show(nodes);
  }

  function askParticipant() {
    const input = el('input', { type: 'text', id: 'participant', autocomplete: 'off', maxlength: '200', 'data-focus': true });
    const form = el('form', { novalidate: true }, el('label', { for: 'participant' }, 'Your participant ID'), input,
      actions(el('button', { type: 'submit', class: 'primary' }, 'Start')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return showError('Please type your participant ID.');
      params.set('participant', value);  // kept in the address, so a reload resumes
      history.replaceState(null, '', `${location.pathname}?${params}`);
      return start();
    });
    show(heading('Welcome'), el('p', {}, 'Please type the participant ID you were given.'), form);
  }

  async function start() {
    if (!testId) return stop('This link names no listening test.');
    if (!participant()) return askParticipant();
    show(heading('Loading…'));
    // A session finished in this browser shows its code again instead of starting another.
    const finished = store.get(doneKey());
    const old = finished ? await api('GET', `/api/sessions/${encodeURIComponent(finished)}`) : null;
    const res = old && old.ok && old.data.status === 'submitted' ? old
      : await api('POST', `/api/tests/${encodeURIComponent(testId)}/sessions`, { participant_id: participant() });
    if (!res.ok) return stop(errorText(res));
    state = res.data;
    $('test-name').textContent = state.test.name || 'Listening test';
    return render();
  }

  // Shortcuts never fire while the rater types (text fields); a slider (MUSHRA) is no text field:
  // its arrow keys go through the page's handler, which counts them as a score given.
  document.addEventListener('keydown', (event) => {
    if (!keyHandler || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.repeat && !/^(Arrow|Page)/.test(event.key)) return;
    if (event.target.closest && event.target.closest('input:not([type=range]), textarea, select')) return;
    if (keyHandler(event.key, event)) {
      event.preventDefault();
      spaceTaken = event.key === ' ';
    }
  });
  // A focused button would also take a handled Space as a click when the key goes up.
  document.addEventListener('keyup', (event) => {
    if (event.key === ' ' && spaceTaken) event.preventDefault();
    spaceTaken = false;
  });
  start();
})();
