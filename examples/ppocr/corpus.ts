/**
 * The strings we render as labelled text lines: English words, numbers, dates, prices, codes and
 * ASCII punctuation, 3 to 25 characters long, drawn from a seeded generator so the list is the
 * same on every run. Every character is one the PP-OCR dictionary (ppocr_keys_v1.txt + space)
 * can emit; dataset.ts checks that for each string, tests check the whole list.
 *
 * The mix is meant to look like text a detector crops from documents and signs, not like Chinese
 * text (which the model is mostly trained on), because the truth must be something we can type.
 */
import { Prng } from "./prng.js";

export const MIN_LINE_LENGTH = 3;
export const MAX_LINE_LENGTH = 25;

const WORDS = [
  "about", "account", "address", "after", "again", "airport", "amount", "animal", "answer", "apple",
  "April", "area", "article", "autumn", "balance", "basket", "battery", "before", "bicycle", "billing",
  "bottle", "bridge", "budget", "button", "cabinet", "camera", "candle", "capital", "carbon", "center",
  "chapter", "charge", "cheese", "circle", "city", "client", "coffee", "column", "company", "copper",
  "corner", "cotton", "country", "credit", "customer", "daily", "danger", "delivery", "desert", "design",
  "dinner", "doctor", "document", "dollar", "double", "engine", "entrance", "evening", "example", "exit",
  "factory", "family", "figure", "finance", "floor", "flower", "forest", "freight", "garden", "gateway",
  "glass", "global", "harbor", "health", "history", "holiday", "hotel", "image", "income", "island",
  "journal", "jungle", "kitchen", "ladder", "language", "letter", "library", "light", "limited", "machine",
  "market", "medium", "member", "method", "middle", "minute", "monday", "mountain", "museum", "number",
  "object", "office", "orange", "order", "output", "package", "paper", "parking", "payment", "pencil",
  "people", "phone", "picture", "planet", "pocket", "police", "portal", "quality", "quarter", "question",
  "railway", "receipt", "record", "region", "report", "river", "rocket", "salary", "sample", "school",
  "season", "second", "section", "service", "silver", "simple", "station", "street", "studio", "summer",
  "supply", "system", "table", "ticket", "total", "tower", "traffic", "travel", "union", "valley",
  "version", "village", "volume", "water", "weather", "window", "winter", "yellow", "zebra", "zone",
];

const DOMAINS = ["example.com", "mail.org", "shop.net", "data.io"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function withThousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function styledWord(rng: Prng): string {
  const w = rng.pick(WORDS);
  const r = rng.float();
  if (r < 0.2) return w.toUpperCase();
  if (r < 0.55) return w.charAt(0).toUpperCase() + w.slice(1);
  return w;
}

/** One generator per kind of string; each returns a candidate that may still be too long. */
const KINDS: ReadonlyArray<(rng: Prng) => string> = [
  (rng) => styledWord(rng),
  (rng) => `${styledWord(rng)} ${rng.pick(WORDS)}`,
  (rng) => `${styledWord(rng)} ${rng.pick(WORDS)} ${rng.pick(WORDS)}`,
  (rng) => withThousands(rng.int(100, 9_999_999)),
  (rng) => `$${withThousands(rng.int(1, 99_999))}.${pad(rng.int(0, 99), 2)}`,
  (rng) => `${rng.int(1, 100)}%`,
  (rng) => `${rng.int(1990, 2030)}-${pad(rng.int(1, 12), 2)}-${pad(rng.int(1, 28), 2)}`,
  (rng) => `${pad(rng.int(0, 23), 2)}:${pad(rng.int(0, 59), 2)}`,
  (rng) => `${rng.int(1, 28)} ${rng.pick(MONTHS)} ${rng.int(1990, 2030)}`,
  (rng) => `(${rng.int(200, 999)}) ${rng.int(200, 999)}-${pad(rng.int(0, 9999), 4)}`,
  (rng) => `${rng.pick(WORDS).toUpperCase().slice(0, 3)}-${pad(rng.int(0, 99999), 5)}`,
  (rng) => `${rng.pick(WORDS)}@${rng.pick(DOMAINS)}`,
  (rng) => `${styledWord(rng)}${rng.pick([",", ".", "!", "?", ";", ":"])}`,
  (rng) => `"${rng.pick(WORDS)}"`,
  (rng) => `(${rng.pick(WORDS)})`,
  (rng) => `[${rng.int(1, 99)}]`,
  (rng) => `#${rng.pick(WORDS)}`,
  (rng) => `${rng.pick(WORDS)}_${rng.pick(WORDS)}`,
  (rng) => `${rng.pick(WORDS)}=${rng.int(0, 999)}`,
  (rng) => `${rng.int(2, 99)}+${rng.int(2, 99)}=${rng.int(2, 199)}`,
  (rng) => `${rng.pick(WORDS)}/${rng.pick(WORDS)}`,
  (rng) => `${styledWord(rng)} & ${rng.pick(WORDS)}`,
  (rng) => `${rng.int(2, 20)}*${rng.int(2, 20)}`,
  (rng) => `<${rng.pick(WORDS)}>`,
  (rng) => `{${rng.pick(WORDS)}}`,
  (rng) => `No. ${rng.int(1, 9999)}`,
  (rng) => `${styledWord(rng)} ${rng.int(1, 999)}`,
  (rng) => `${rng.pick(WORDS)}'s ${rng.pick(WORDS)}`,
  (rng) => `-${rng.int(1, 99)}.${rng.int(0, 9)}`,
  (rng) => `~${rng.int(10, 999)} km`,
];

/** One string of MIN_LINE_LENGTH..maxLength characters. */
export function randomLineText(rng: Prng, maxLength = MAX_LINE_LENGTH): string {
  if (maxLength < MIN_LINE_LENGTH) throw new Error(`maxLength must be at least ${MIN_LINE_LENGTH}, got ${maxLength}`);
  for (;;) {
    const text = rng.pick(KINDS)(rng);
    if (text.length >= MIN_LINE_LENGTH && text.length <= maxLength) return text;
  }
}

/** `count` strings from `seed`: the same list on every run. */
export function lineTexts(seed: number, count: number): string[] {
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  const rng = new Prng(seed);
  return Array.from({ length: count }, () => randomLineText(rng));
}
