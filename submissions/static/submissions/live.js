// Live status without reloading: poll the JSON endpoints, update in place.
(function () {
  const POLL_MS = 1000;

  function poll(url, onData) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => { if (data && onData(data) !== false) setTimeout(() => poll(url, onData), POLL_MS); })
      .catch(() => setTimeout(() => poll(url, onData), POLL_MS * 3));
  }

  // Before the deadline a student's score leaves out the checks hidden until then, and says so.
  function score(data) {
    const hidden = data.hidden_points ? ` +${data.hidden_points} hidden until the deadline` : "";
    return `${data.score}/${data.max_score}${hidden}`;
  }

  function label(data, withScore) {
    let text = data.status_label;
    if (data.queue_position) text += ` (position ${data.queue_position} in the queue)`;
    if (withScore && data.score !== null && data.finished) text += ` · ${score(data)}`;
    return text;
  }

  document.querySelectorAll("[data-status-url]").forEach((el) => {
    if (el.id === "job-status") return;
    const reloadWhenFinished = el.dataset.reloadWhenFinished === "true";
    if (el.classList.contains("graded") || el.classList.contains("not_gradable")) return;
    // In a table of submissions the score has a column of its own.
    const row = el.closest("tr");
    const scoreCell = row ? row.querySelector("td.score") : null;
    poll(el.dataset.statusUrl, (data) => {
      el.textContent = label(data, !scoreCell);
      el.className = "status " + data.status;
      if (scoreCell && data.finished) scoreCell.textContent = data.score !== null ? score(data) : "";
      if (data.finished) {
        // The feedback, output and S3 timeline are rendered server-side.
        if (reloadWhenFinished) window.location.reload();
        return false;
      }
    });
  });

  const job = document.getElementById("job-status");
  if (job) {
    const bar = document.getElementById("job-progress");
    poll(job.dataset.statusUrl, (data) => {
      bar.max = data.total; bar.value = data.done;
      job.textContent = `${data.done} of ${data.total}` + (data.finished ? ": finished" : "");
      return !data.finished;
    });
  }
})();
