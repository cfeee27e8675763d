// SPDX-License-Identifier: Apache-2.0
// The official `openai` npm client against a running `fragua serve`:
//   node client.mjs BASE_URL API_KEY
// It starts nothing itself (tests/serve/client_test.cpp starts the server with --embeddings and
// the key, on a tiny random model whose vocabulary holds JSON's characters). Prints one line per
// check ("ok NAME", or "pending NAME: WHY" for a capability the server refuses with
// not_supported) and exits non-zero at the first failed assertion.
import assert from "node:assert/strict";
import OpenAI from "openai";

const [base, key] = process.argv.slice(2);
if (!base || !key) {
  console.error("usage: node client.mjs BASE_URL API_KEY");
  process.exit(2);
}
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0, timeout: 120_000 });
const model = "tiny";
const messages = [
  { role: "system", content: "Eres breve." },
  { role: "user", content: "Hola, que tal?" },
];

async function check(name, fn) {
  const result = await fn();
  console.log(result && result.pending ? `pending ${name}: ${result.pending}` : `ok ${name}`);
}

// A refusal with not_supported means the feature has not landed in this server yet: the final
// behaviour is asserted once it answers. Any other error is a failure.
function pendingIf(e) {
  if (e instanceof OpenAI.BadRequestError && e.code === "not_supported") return { pending: e.message };
  throw e;
}

async function expectError(fn, status, code, param) {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIError, `expected an APIError, got ${e}`);
    assert.equal(e.status, status, e.message);
    assert.equal(e.code, code, e.message);
    if (param !== undefined) assert.equal(e.param, param, e.message);
    return e;
  }
  assert.fail(`expected HTTP ${status} ${code}`);
}

await check("models", async () => {
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id), [model]);
  const one = list.data[0];
  assert.equal(one.object, "model");
});

let greedyText = "";
await check("chat", async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices.length, 1);
  const c = r.choices[0];
  assert.equal(c.message.role, "assistant");
  assert.equal(typeof c.message.content, "string");
  assert.ok(["stop", "length"].includes(c.finish_reason), c.finish_reason);
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 12, JSON.stringify(r.usage));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  greedyText = c.message.content;
  // Greedy decoding is deterministic.
  const again = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
  assert.equal(again.choices[0].message.content, greedyText);
});

await check("chat seed and n", async () => {
  const req = { model, messages, max_tokens: 8, temperature: 1, seed: 1234, n: 2 };
  const a = await client.chat.completions.create(req);
  const b = await client.chat.completions.create(req);
  assert.deepEqual(a.choices.map((c) => c.index), [0, 1]);
  assert.deepEqual(a.choices.map((c) => c.message.content), b.choices.map((c) => c.message.content));
});

await check("chat streaming", async () => {
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let text = "";
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.ok(chunks >= 2, `${chunks} chunks`);
  assert.equal(text, greedyText);
  assert.ok(["stop", "length"].includes(finish), String(finish));
  assert.ok(usage && usage.completion_tokens >= 1, JSON.stringify(usage));
});

await check("chat stream helper", async () => {
  // The client's own accumulation of chunks (ChatCompletionStream) gives the same message.
  const runner = client.chat.completions.stream({ model, messages, max_tokens: 12, temperature: 0 });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, greedyText);
});

await check("completions", async () => {
  const r = await client.completions.create({ model, prompt: "La ciutat de", max_tokens: 6, temperature: 0 });
  assert.equal(r.object, "text_completion");
  assert.equal(typeof r.choices[0].text, "string");
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 6);
});

await check("embeddings", async () => {
  // The client asks for base64 and decodes it into floats itself.
  const r = await client.embeddings.create({ model, input: ["Bon dia", "Egun on", "Bon dia"] });
  assert.equal(r.data.length, 3);
  const dim = r.data[0].embedding.length;
  assert.ok(dim > 0);
  for (const [i, d] of r.data.entries()) {
    assert.equal(d.index, i);
    assert.equal(d.embedding.length, dim);
    const norm = Math.hypot(...d.embedding);
    assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
  }
  assert.deepEqual(r.data[2].embedding, r.data[0].embedding);
  assert.notDeepEqual(r.data[1].embedding, r.data[0].embedding);
  assert.ok(r.usage.prompt_tokens > 0);
  const floats = await client.embeddings.create({ model, input: "Bon dia", encoding_format: "float" });
  const a = floats.data[0].embedding;
  const b = r.data[0].embedding;
  assert.ok(a.every((x, i) => Math.abs(x - b[i]) < 1e-6), "float and base64 encodings differ");
});

const personSchema = {
  type: "object",
  properties: {
    name: { type: "string" },
    age: { type: "integer" },
    city: { enum: ["Bilbo", "Vigo", "Valencia"] },
  },
  required: ["name", "age", "city"],
  additionalProperties: false,
};

await check("json_schema", async () => {
  let r;
  try {
    r = await client.chat.completions.create({
      model, messages, max_tokens: 400, temperature: 0.8, seed: 7,
      response_format: { type: "json_schema", json_schema: { name: "person", strict: true, schema: personSchema } },
    });
  } catch (e) {
    return pendingIf(e);
  }
  const c = r.choices[0];
  assert.equal(c.finish_reason, "stop", "a schema's output ends when the object does");
  const obj = JSON.parse(c.message.content);
  assert.deepEqual(Object.keys(obj).sort(), ["age", "city", "name"]);
  assert.equal(typeof obj.name, "string");
  assert.ok(Number.isInteger(obj.age), String(obj.age));
  assert.ok(personSchema.properties.city.enum.includes(obj.city), obj.city);
});

await check("json_object", async () => {
  let r;
  try {
    r = await client.chat.completions.create({
      model, messages, max_tokens: 400, temperature: 0.8, seed: 11, response_format: { type: "json_object" },
    });
  } catch (e) {
    return pendingIf(e);
  }
  const value = JSON.parse(r.choices[0].message.content);
  assert.equal(typeof value, "object");
  assert.ok(value !== null && !Array.isArray(value));
});

await check("tools", async () => {
  const tools = [{
    type: "function",
    function: {
      name: "get_weather",
      description: "The weather in a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string" }, days: { type: "integer" } },
        required: ["city", "days"],
        additionalProperties: false,
      },
    },
  }];
  let r;
  try {
    r = await client.chat.completions.create({
      model, max_tokens: 400, temperature: 0.8, seed: 5, tools,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      messages: [{ role: "user", content: "Que tiempo hace en Vigo?" }],
    });
  } catch (e) {
    return pendingIf(e);
  }
  const c = r.choices[0];
  assert.equal(c.finish_reason, "tool_calls");
  assert.equal(c.message.tool_calls.length, 1);
  const call = c.message.tool_calls[0];
  assert.equal(call.type, "function");
  assert.equal(call.function.name, "get_weather");
  assert.ok(call.id);
  const args = JSON.parse(call.function.arguments);
  assert.deepEqual(Object.keys(args).sort(), ["city", "days"]);
  assert.equal(typeof args.city, "string");
  assert.ok(Number.isInteger(args.days));
  // The call and its result go back through the chat template.
  const next = await client.chat.completions.create({
    model, max_tokens: 4, temperature: 0, tools,
    messages: [
      { role: "user", content: "Que tiempo hace en Vigo?" },
      c.message,
      { role: "tool", tool_call_id: call.id, content: "{\"temp\": 14}" },
    ],
  });
  assert.equal(next.choices[0].message.role, "assistant");
});

await check("errors", async () => {
  const wrongKey = new OpenAI({ baseURL: `${base}/v1`, apiKey: "not-the-key", maxRetries: 0 });
  const auth = await expectError(() => wrongKey.models.list(), 401, "invalid_api_key");
  assert.ok(auth instanceof OpenAI.AuthenticationError);
  const missing = await expectError(
    () => client.chat.completions.create({ model: "gpt-4o", messages }), 404, "model_not_found", "model");
  assert.ok(missing instanceof OpenAI.NotFoundError);
  const bad = await expectError(
    () => client.chat.completions.create({ model, messages, temperature: 5 }), 400, "invalid_value", "temperature");
  assert.ok(bad instanceof OpenAI.BadRequestError);
  await expectError(
    () => client.chat.completions.create({ model, messages: [{ role: "user", content: "a".repeat(5000) }] }),
    400, "context_length_exceeded");
  await expectError(() => client.completions.create({ model, prompt: "x", echo: true }), 400, "not_supported", "echo");
  await expectError(() => client.embeddings.create({ model, input: "x", dimensions: 8 }), 400, "not_supported");
  // The server answers after every refusal.
  assert.equal((await client.models.list()).data.length, 1);
});

await check("abort", async () => {
  // Leaving the loop after aborting (the client's documented way) closes the connection; the
  // server goes on serving.
  const stream = await client.chat.completions.create({ model, messages, max_tokens: 500, temperature: 1, stream: true });
  let chunks = 0;
  for await (const chunk of stream) {
    if (++chunks === 2) {
      stream.controller.abort();
      break;
    }
  }
  assert.ok(chunks >= 1);
  const r = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
  assert.equal(r.choices[0].message.content, greedyText);
});

console.log("client.mjs: all checks done");
