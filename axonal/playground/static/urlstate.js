// The whole state in the URL hash, as the TensorFlow Playground keeps it: `#key=value&...` with the
// Playground's own key names (activation, learningRate, networkShape=4,2, x=true, ...), so a link
// reproduces a configuration. Training settings are checked against the server's schema; page
// settings (showTestData, discretize, hideText, <control>_hide) live only here.

export const PAGE_KEYS = { showTestData: false, discretize: false, hideText: false };

// Controls that the "classroom" panel can hide, by their `<name>_hide` key.
export const HIDEABLE = [
  "playButton", "stepButton", "resetButton", "learningRate", "activation", "regularization",
  "regularizationRate", "problem", "dataset", "percTrainData", "noise", "batchSize", "regenerate",
  "features", "numHiddenLayers", "showTestData", "discretize", "optimizer", "dropout",
  "batchNorm", "customData", "export", "gradStrip",
];

// A seed from an original Playground link is a string like "0.81637"; ours are integers, so a
// non-integer seed is hashed to one (stable, so the same link keeps giving the same data).
function seedFrom(text) {
  if (/^\d+$/.test(text)) return Number(text);
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h % 2147483647;
}

function parseValue(spec, text) {
  switch (spec.kind) {
    case "bool":
      if (text === "true" || text === "false") return text === "true";
      return undefined;
    case "int":
    case "float": {
      if (text.trim() === "") return undefined;
      const v = Number(text);
      return Number.isFinite(v) ? v : undefined;
    }
    case "shape":
      if (text === "") return [];
      return text.split(",").map(Number);
    default:
      return text;
  }
}

// Parse location.hash: { config: {...training settings}, page: {...}, hidden: Set, warnings: [] }.
// Values are only typed here; the server validates ranges and answers with an error if one is off.
export function parseHash(hash, schema) {
  const out = { config: {}, page: { ...PAGE_KEYS }, hidden: new Set(), warnings: [] };
  const text = hash.replace(/^#/, "");
  if (!text) return out;
  for (const part of text.split("&")) {
    const eq = part.indexOf("=");
    const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const raw = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1));
    if (key.endsWith("_hide")) {
      if (raw === "true") out.hidden.add(key.slice(0, -5));
    } else if (key in PAGE_KEYS) {
      out.page[key] = raw === "true";
    } else if (key === "seed") {
      out.config.seed = seedFrom(raw);
    } else if (schema[key]) {
      const v = parseValue(schema[key], raw);
      if (v === undefined) out.warnings.push(`ignored ${key}=${raw} from the URL`);
      else out.config[key] = v;
    } else if (!["tutorial", "collectStats", "cosX", "cosY"].includes(key)) {
      out.warnings.push(`unknown URL setting ${key}`);
    }
  }
  return out;
}

// Build the hash from the server's (validated) config plus the page state; key order follows the
// schema, so equal states give equal URLs.
export function buildHash(config, page, hidden) {
  const parts = [];
  for (const [key, value] of Object.entries(config)) {
    parts.push(`${key}=${Array.isArray(value) ? value.join(",") : value}`);
  }
  for (const key of Object.keys(PAGE_KEYS)) parts.push(`${key}=${Boolean(page[key])}`);
  for (const name of HIDEABLE) if (hidden.has(name)) parts.push(`${name}_hide=true`);
  return "#" + parts.join("&");
}

export function writeHash(config, page, hidden) {
  const hash = buildHash(config, page, hidden);
  if (hash !== location.hash) history.replaceState(null, "", hash);
}
