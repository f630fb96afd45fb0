// The dashboard's entry point: read the page's data the server embedded (its dashboard_ answer), then
// render it; refusals are shown by name, never as a blank page.
import { errorBox, h, clear, setToken } from "./ui.js";
import { errorName } from "./rpc.js";
import { registerDevNames, renderWallet, onSignerChange } from "./wallet.js";
import { renderOverview } from "./pages/overview.js";
import { renderBlock } from "./pages/block.js";
import { renderAccount } from "./pages/account.js";
import { renderModels } from "./pages/models.js";
import { renderModel } from "./pages/model.js";

const PAGES = { overview: renderOverview, block: renderBlock, account: renderAccount, models: renderModels, model: renderModel };

function start() {
  const root = document.getElementById("app");
  let preload;
  try {
    preload = JSON.parse(document.getElementById("preload").textContent);
  } catch (exc) {
    clear(root, errorBox({ errorName: "BadPage", message: `the page's data could not be read: ${exc.message}` }));
    return;
  }
  const answer = preload.answer || {};
  if (answer.error) {
    clear(root, h("h1", {}, "Refused"), errorBox({ errorName: errorName(answer.error), message: (answer.error.data && answer.error.data.message) || answer.error.message }, preload.page));
    return;
  }
  const data = answer.result;
  setToken(data.properties);
  registerDevNames();
  const best = document.getElementById("best-number");
  const final = document.getElementById("final-number");
  best.textContent = `#${data.bestNumber}`;
  best.href = `/blocks/${data.bestNumber}`;
  final.textContent = `#${data.finalizedNumber}`;
  final.href = `/blocks/${data.finalizedNumber}`;
  renderWallet(document.getElementById("wallet"), data.dev);
  onSignerChange(() => renderWallet(document.getElementById("wallet"), data.dev));
  try {
    PAGES[preload.page](root, data);
    root.setAttribute("data-ready", preload.page);
    performance.mark("cmu-rendered");
  } catch (exc) {
    clear(root, errorBox({ errorName: exc.errorName || "RenderError", message: exc.message }, preload.page));
  }
}

start();
