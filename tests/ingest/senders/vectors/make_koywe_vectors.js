#!/usr/bin/env node
// Koywe signature test vectors, made with Node's own JSON.stringify and crypto.createHmac,
// exactly as Koywe documents it:
//   signature = createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex')
// then `signature` is added to the object and the object is POSTed.
//
// Usage: node make_koywe_vectors.js [out.json]   (default: koywe_vectors.json beside this file)
// Deterministic: no clock, no randomness, so re-running must reproduce the committed file.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const SECRET = "koywe-test-secret-0001";
const OLD_SECRET = "koywe-old-secret-rotated-out";
const NON_ASCII_SECRET = "sécret-ñandú-🔑";

const sign = (text, secret) => crypto.createHmac("sha256", secret).update(text).digest("hex");

// Insert `signature` at a member index (0 = first; undefined = last) by rebuilding the object,
// as a sender writing `{ signature, ...payload }` or `{ ...payload, signature }` would.
function withSignature(payload, signature, at) {
  const entries = Object.entries(payload);
  const index = at === undefined ? entries.length : at;
  entries.splice(index, 0, ["signature", signature]);
  return Object.fromEntries(entries);
}

const cases = [];

// A case signed compactly (JSON.stringify(payload)) and sent as JSON.stringify(body, null, indent).
function add(name, payload, opts = {}) {
  const secret = opts.secret ?? SECRET;
  const signed = opts.signedIndent === undefined
    ? JSON.stringify(payload)
    : JSON.stringify(payload, null, opts.signedIndent);
  const signature = sign(signed, secret);
  const bodyObj = withSignature(payload, signature, opts.at);
  let body = opts.indent === undefined ? JSON.stringify(bodyObj) : JSON.stringify(bodyObj, null, opts.indent);
  if (opts.mutate) body = opts.mutate(body);
  cases.push({
    name,
    secret,
    secrets: opts.secrets ?? [secret],
    signed,
    body,
    body_utf8_hex: Buffer.from(body, "utf8").toString("hex"),
    valid: opts.valid ?? true,
    note: opts.note ?? "",
  });
}

const basic = {
  eventName: "crypto_delivered",
  orderId: "5a3288ea-0bd4-44d2-af11-aae1f88bbd61",
  timeStamp: "2022-10-26T22:36:41.658Z",
};

add("documented_example", basic, { note: "the provider doc's example, signature last" });
add("signature_first", basic, { at: 0, note: "{ signature, ...payload }" });
add("signature_middle", basic, { at: 1, note: "signature between orderId and timeStamp" });
add("sole_member", {}, { note: "empty payload: JSON.stringify({}) is '{}'" });

add("non_ascii", { ...basic, userName: "Begoña Sáenz Müller", city: "Añatuya", note: "pingüino" }, {
  note: "ñ, á, ü are written raw (UTF-8 on the wire), never \\u-escaped",
});
add("emoji_astral", { ...basic, comment: "pago ✅ 🚀💸 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👨‍👩‍👧 🇨🇱" }, {
  at: 1,
  note: "astral-plane chars (4-byte UTF-8), ZWJ sequence, flag; signature in the middle",
});
add("escapes", {
  ...basic,
  quote: 'he said "hola"',
  backslash: "C:\\temp\\new",
  controls: "line1\nline2\ttab\r\u0008\u000c\u0001\u001f\u007f",
}, { note: "quote, backslash, \\n \\t \\r \\b \\f get short escapes; U+0001, U+001F become \\u0001, \\u001f; DEL (U+007F) stays raw" });
add("line_separators", { ...basic, memo: "a\u2028b\u2029c" }, {
  note: "U+2028/U+2029 are NOT escaped by JSON.stringify: raw E2 80 A8 / E2 80 A9 bytes",
});
add("slash_and_script", { ...basic, url: "https://koywe.com/a/b?x=1&y=2", html: "</script><script>alert(1)</script>" }, {
  at: 0,
  note: "'/' is never escaped (\\/ would change the bytes)",
});
add("lone_surrogate", { ...basic, name: "truncated \ud83d" }, {
  note: "well-formed JSON.stringify escapes a lone surrogate as \\ud83d: valid, stored byte for byte, parsed as U+FFFD (schemas/jsonbody.py)",
});
add("numbers", {
  ...basic,
  amountIn: 1500,
  amountOut: 401.25,
  big: 1e21,
  small: 0.1,
  tiny: 5e-7,
  negative: -42.5,
  negativeZero: -0,
  wholeFloat: 100.0,
  unsafeInt: 2 ** 53 + 1,
  over64Bits: 123456789012345678901,
}, {
  note: "1500 vs 401.25; 1e21 -> 1e+21; 5e-7; -0 -> 0; 100.0 -> 100; 2**53+1 -> 9007199254740992; " +
    "123456789012345678901 -> 123456789012345680000",
});
add("integer_like_keys", { b: 1, 10: "ten", 2: "two", a: 3 }, {
  at: 0,
  note: "integer-like keys are ordered first by JS: signature is NOT first despite { signature, ... }",
});
add("nested_signature_untouched", {
  ...basic,
  meta: { signature: "nested-not-ours", list: [{ signature: "x" }, [], {}] },
  text: '"signature":"deadbeef"',
  "signature ": "key with trailing space",
}, { at: 2, note: "nested `signature` members, a string that looks like one, and a near-miss key" });

const modified = {
  eventName: "payment_received_modified_order_amount",
  orderId: "9b1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d",
  timeStamp: "2024-05-14T15:04:05.123Z",
  originalOrder: {
    orderId: "9b1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d",
    symbolIn: "PEN",
    symbolOut: "USDC",
    amountIn: 1500,
    amountOut: 401.25,
    exchangeRate: 3.7383,
    fees: { koyweFee: 7.5, networkFee: 0, total: 7.5 },
    status: "WAITING",
    paymentMethod: "WIREPE",
  },
  orderAdjustedByBankIncome: {
    orderId: "9b1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d",
    quoteId: "q-71c0e3",
    symbolIn: "PEN",
    symbolOut: "USDC",
    amountIn: 1480.5,
    amountOut: 396.03,
    exchangeRate: 3.7383,
    fees: { koyweFee: 7.4, networkFee: 0, total: 7.4 },
    status: "PENDING",
    paymentMethod: "WIREPE",
  },
};
add("modified_order_amount", modified, { note: "realistic payment_received_modified_order_amount" });
add("modified_order_amount_first", modified, { at: 0, note: "signature first, nested objects after it" });
add("pretty_2_signed_compact", modified, { indent: 2, note: "sent JSON.stringify(obj, null, 2), signed compact" });
add("pretty_2_signature_first", modified, { indent: 2, at: 0, note: "cut takes the comma after it and the indent" });
add("pretty_2_signature_middle", modified, { indent: 2, at: 3, note: "between timeStamp and originalOrder" });
add("pretty_tabs_signed_compact", { ...basic, userName: "José  Peña", nested: { a: [1, 2, { b: " x " }] } }, {
  indent: "\t",
  note: "tab-indented; spaces inside strings must survive whitespace removal",
});
add("pretty_2_signed_pretty", modified, {
  indent: 2,
  signedIndent: 2,
  note: "a sender that signed JSON.stringify(payload, null, 2) and sent the same indent",
});
add("pretty_2_signed_pretty_first", basic, { indent: 2, signedIndent: 2, at: 0, note: "exact cut keeps the layout" });
add("non_ascii_secret", { ...basic, amount: 12.5 }, { secret: NON_ASCII_SECRET, note: "secret is UTF-8 encoded" });
add("rotated_secret", basic, {
  secrets: [OLD_SECRET, SECRET],
  note: "two secrets configured, the second one matches",
});

add("tampered_amount", modified, {
  valid: false,
  mutate: (b) => b.replace('"amountIn":1480.5', '"amountIn":1480.6'),
  note: "one byte of the payload changed after signing",
});
add("tampered_non_ascii", { ...basic, userName: "Begoña" }, {
  valid: false,
  mutate: (b) => b.replace("Begoña", "Begona"),
  note: "ñ replaced by n",
});
add("wrong_secret", basic, { secrets: ["not-the-secret"], valid: false, note: "receiver has another secret" });
add("rotated_out_secret", basic, {
  secret: OLD_SECRET,
  secrets: [SECRET],
  valid: false,
  note: "signed with a secret no longer configured",
});
add("reordered_members", basic, {
  valid: false,
  mutate: (b) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(b)).reverse())),
  note: "same members, other order: different bytes, so not what was signed",
});
add("python_style_spacing", basic, {
  mutate: (b) => b.replace(/","/g, '", "').replace(/":"/g, '": "'),
  note: "', ' and ': ' spacing (Python json.dumps style) outside strings: the whitespace-free candidate matches",
});

const out = process.argv[2] ?? path.join(__dirname, "koywe_vectors.json");
fs.writeFileSync(out, JSON.stringify(cases, null, 2) + "\n");
