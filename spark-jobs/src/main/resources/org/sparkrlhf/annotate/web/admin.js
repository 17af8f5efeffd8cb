// The admin page: the round's report as tables, refreshed every 5 seconds; all text set as text.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);

  function table(id, head, rows) {
    const t = $(id);
    const tr = document.createElement('tr');
    for (const h of head) { const th = document.createElement('th'); th.textContent = h; tr.appendChild(th); }
    const body = [tr];
    for (const r of rows) {
      const row = document.createElement('tr');
      for (const v of r) {
        const td = document.createElement('td');
        if (typeof v === 'number') { td.className = 'num'; td.textContent = Number.isInteger(v) ? String(v) : v.toFixed(3); }
        else { const d = document.createElement('div'); d.className = 'text'; d.textContent = v === undefined || v === null ? '' : String(v); td.appendChild(d); }
        row.appendChild(td);
      }
      body.push(row);
    }
    t.replaceChildren(...body);
  }

  async function refresh() {
    const r = await fetch('/api/admin', {credentials: 'same-origin'});
    if (r.status === 401 || r.status === 403) { location.href = '/signin'; return; }
    const d = await r.json();
    const c = d.current_round;
    table('round', ['items generated', 'overlapping (' + c.overlap_annotators + ' annotators)', 'judgements made / needed', 'items complete', 'responses per item'],
      [[c.items_generated, c.items_overlapping, c.judgements_made + ' / ' + c.judgements_needed, c.items_complete, c.responses_per_item]]);
    const g = d.generation;
    table('generation', ['source', 'prompts generated / in round', 'generating now', 'last batch (s)', 'error'],
      [[g.source, g.generated + ' / ' + g.prompts, g.generating ? 'yes' : 'no', g.last_batch_seconds, g.error || '']]);
    table('throughput', ['judgements stored', 'in the last hour', 'per minute (last 10 min)'],
      [[d.throughput.judgements, d.throughput.last_hour, d.throughput.per_minute_last_10_min]]);
    const people = [];
    for (const round of d.rounds) for (const a of round.annotators) people.push([round.round, a.annotator, a.judged, a.skipped, a.median_seconds, a.last_active]);
    table('people', ['round', 'annotator', 'judged', 'skipped', 'median seconds per item', 'last active'], people);
    table('agreement', ['annotator', 'response pairs compared', 'agreement', "Kendall's tau"],
      d.agreement.map((a) => [a.annotator, a.response_pairs, a.agreement, a.kendall_tau]));
    table('flagged', ['item', 'annotator', 'flag', 'prompt', 'response'], d.flagged.map((f) => [f.item, f.annotator, f.flag, f.prompt, f.text]));
  }

  refresh();
  setInterval(refresh, 5000);
})();
