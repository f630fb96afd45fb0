// Every model.
import { clear, h, section } from "../ui.js";
import { modelsTable } from "./common.js";

export function renderModels(root, data) {
  const first = data.models.length ? data.models[0].id : 0;
  const next = data.next !== null && data.next !== undefined ? h("p", {}, h("a", { href: `/models?start=${data.next}`, id: "next-models" }, "next models")) : null;
  clear(root, h("h1", {}, "Models"),
    section(data.models.length ? `Models ${first}–${data.models[data.models.length - 1].id}` : "No models yet", modelsTable(data.models), next));
}
