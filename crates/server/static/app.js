// openforest's own small script. Everything works without it; it only makes collecting
// smoother (no page reload, a little animation) and counts ripening balls down.
"use strict";

(function () {
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function format(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    return Math.floor(s / 3600) + ":" + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
  }

  function startCountdowns() {
    var started = Date.now();
    var items = Array.prototype.slice.call(document.querySelectorAll("[data-ripens-in-ms]"));
    if (items.length === 0) { return; }
    var timer = setInterval(function () {
      var elapsed = Date.now() - started;
      var ripened = false;
      items.forEach(function (item) {
        var left = Number(item.getAttribute("data-ripens-in-ms")) - elapsed;
        item.textContent = format(left);
        if (left <= 0) { ripened = true; }
      });
      // A ball just ripened: the server renders it as collectable.
      if (ripened) { clearInterval(timer); window.location.reload(); }
    }, 1000);
  }

  function showWallet(answer) {
    var wallet = document.getElementById("wallet-grams");
    if (wallet) {
      wallet.textContent = answer.wallet_text;
      wallet.classList.add("bump");
      setTimeout(function () { wallet.classList.remove("bump"); }, 300);
    }
    var progress = document.getElementById("tree-progress");
    if (progress) { progress.value = answer.percent; }
  }

  function post(form) {
    return fetch(form.action, {
      method: "POST",
      headers: { "Accept": "application/json" },
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) { throw new Error("collect answered " + response.status); }
      return response.json();
    });
  }

  function enhanceCollect(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      if (button) { button.disabled = true; }
      post(form).then(function (answer) {
        showWallet(answer);
        if (button) { button.classList.add("collected"); }
        setTimeout(function () {
          var slot = form.closest("li");
          if (slot) { slot.remove(); }
          if (!document.querySelector("form.collect")) {
            var all = document.querySelector("form.collect-all");
            if (all) { all.remove(); }
          }
        }, 600);
      }).catch(function () {
        // The page without script shows why (already collected, too fast, signed out…).
        form.submit();
      });
    });
  }

  function enhanceCollectAll(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      post(form).then(function (answer) {
        showWallet(answer);
        document.querySelectorAll("form.collect button").forEach(function (button) {
          button.classList.add("collected");
        });
        setTimeout(function () { window.location.reload(); }, 650);
      }).catch(function () { form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.collect").forEach(enhanceCollect);
    document.querySelectorAll("form.collect-all").forEach(enhanceCollectAll);
    startCountdowns();
  });
})();
