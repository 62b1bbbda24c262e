#!/usr/bin/env node
// Koywe Payments API signature vectors, made as Koywe's "Webhooks Deep Dive" shows it:
//   Koywe-Signature = crypto.createHmac('sha256', secret).update(req.body /* raw Buffer */).digest('hex')
// The body is signed byte for byte as sent, whatever its spacing, member order or characters.
//
// Usage: node make_koywe_payments_vectors.js [out.json]  (default: koywe_payments_vectors.json here)
// Deterministic: no clock, no randomness, so re-running must reproduce the committed file.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const SECRET = "whsec-koywe-payments-0001";
const OLD_SECRET = "whsec-koywe-payments-rotated";
const NON_ASCII_SECRET = "clé-ñandú-🔑";

const sign = (buffer, secret) => crypto.createHmac("sha256", secret).update(buffer).digest("hex");

const order = (type, extra = {}) => ({
  id: `evt_${type.replace(".", "_")}_01`, type, createdAt: "2025-03-04T05:06:07.089Z",
  data: { id: "ord_9f2c", status: type.split(".")[1], amount: 15000.5, currency: "CLP", externalId: "cart-77", ...extra },
});

const cases = [];
function add(name, text, opts = {}) {
  const secret = opts.secret ?? SECRET;
  const body = Buffer.from(text, "utf8");
  let signature = sign(body, secret);
  let sent = text;
  if (opts.tamper) sent = opts.tamper(text);
  if (opts.signature) signature = opts.signature(signature);
  cases.push({
    name, body: sent, signature, secrets: opts.secrets ?? [SECRET], valid: opts.valid ?? true,
  });
}

add("compact", JSON.stringify(order("order.paid")));
add("pretty_2", JSON.stringify(order("order.created"), null, 2));
add("pretty_tabs_crlf", JSON.stringify(order("order.completed"), null, "\t").replace(/\n/g, "\r\n"));
add("odd_spacing", '{ "id" :"evt_odd_01" ,"type":  "order.pending",\n\n "data":{"id":"ord_9f2c"  , "amount": 1.50 }}  \n');
add("non_ascii", JSON.stringify(order("order.approved", { customer: "José Peña Müller", note: "pago añadido — ¡listo!" })));
add("emoji_astral", JSON.stringify(order("order.processing", { note: "paid 🚀🇨🇱 𝔘𝔫𝔦𝔠𝔬𝔡𝔢" })));
add("escapes", JSON.stringify(order("order.refunded", { note: "quote \" backslash \\ slash / tab \t nl \n \u2028 \u2029 \u0001" })));
add("escaped_unicode_text", '{"id":"evt_esc_01","type":"contact.updated","data":{"id":"ct_1","name":"Jos\\u00e9 \\ud83d\\ude80"}}');
add("numbers", '{"id":"evt_num_01","type":"order.paid","data":{"id":"ord_9f2c","amount":1.0e3,"fee":-0.000,"big":12345678901234567890}}');
add("cancelled_spelling", JSON.stringify(order("order.cancelled")));
add("contact", JSON.stringify({ id: "evt_ct_01", type: "contact.created", data: { id: "ct_1", email: "ana@example.com", name: "Ana Núñez" } }));
add("ping", JSON.stringify({ id: "evt_ping_01", type: "ping" }));
add("non_ascii_secret", JSON.stringify(order("order.paid")), { secret: NON_ASCII_SECRET, secrets: [NON_ASCII_SECRET] });
add("rotated_secret", JSON.stringify(order("order.paid")), { secret: OLD_SECRET, secrets: [SECRET, OLD_SECRET] });
add("wrong_secret", JSON.stringify(order("order.paid")), { secret: OLD_SECRET, secrets: [SECRET], valid: false });
add("tampered_amount", JSON.stringify(order("order.paid")), { tamper: (t) => t.replace("15000.5", "15000.6"), valid: false });
add("respaced_after_signing", JSON.stringify(order("order.paid")), { tamper: (t) => JSON.stringify(JSON.parse(t), null, 1), valid: false });
add("normalised_unicode", JSON.stringify(order("order.paid", { customer: "Jose\u0301" })), { tamper: (t) => t.normalize("NFC"), valid: false });
add("truncated_signature", JSON.stringify(order("order.paid")), { signature: (s) => s.slice(0, 63), valid: false });

const out = process.argv[2] ?? path.join(__dirname, "koywe_payments_vectors.json");
fs.writeFileSync(out, JSON.stringify(cases, null, 2) + "\n");
