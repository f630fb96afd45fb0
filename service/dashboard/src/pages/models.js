// Every model.
import { clear, h, section } from "../ui.js";
import { modelsTable } from "./common.js";

export function renderModels(root, data) {
  clear(root, h("h1", {}, "Models"), section(`${data.models.length} registered`, modelsTable(data.models)));
}
