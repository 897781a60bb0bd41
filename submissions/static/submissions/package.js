// A package version's page while it is validated: progress in place, then the page reloads
// once, when the outcome (the per-script table and the refusal, or the preview) is ready.
// Its own attribute, data-package-status-url: live.js polls every data-status-url.
(function () {
  const status = document.getElementById("package-status");
  if (!status || status.dataset.finished === "true") return;
  const bar = document.getElementById("package-progress");

  function poll() {
    fetch(status.dataset.packageStatusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => {
        if (!data) return setTimeout(poll, 3000);
        bar.max = data.total; bar.value = data.done;
        const publishable = data.status === "valid" || data.status === "published";
        if (data.finished && (!publishable || data.preview_ready)) return window.location.reload();
        if (!data.finished) status.textContent = `${data.status_label}: ${data.done} of ${data.total} scripts graded`;
        setTimeout(poll, 1000);
      })
      .catch(() => setTimeout(poll, 3000));
  }
  poll();
})();
