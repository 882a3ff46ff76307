// openai-node against `steadfast gateway --sim`: every upstream family behind the OpenAI Chat
// Completions API, retries and fallbacks the client cannot see, and the SDK's typed errors.
// Mirrors ../test_gateway_openai.py; the SDK's own retries are off (maxRetries: 0), so what is
// checked is the gateway's answer.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import OpenAI from 'openai';

import { ECHO, FAMILIES, KEYS, MSG, rejection, startGateway } from './support.mjs';

const KEY = KEYS[0];
const UPSTREAMS = Object.values(FAMILIES);
const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } },
        required: ['city', 'days'],
        additionalProperties: false,
      },
    },
  },
];
const BOOK = {
  type: 'json_schema',
  json_schema: {
    name: 'book',
    strict: true,
    schema: {
      type: 'object',
      properties: { title: { type: 'string' }, author: { type: 'string' } },
      required: ['title', 'author'],
      additionalProperties: false,
    },
  },
};

let gw;
before(async () => {
  gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});
beforeEach(async () => {
  await gw.sim.scenario([]);
});

function client(options = {}) {
  return new OpenAI({ baseURL: gw.url + '/v1', apiKey: KEY, maxRetries: 0, ...options });
}

function assertWeatherCall(call) {
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  const args = JSON.parse(call.function.arguments);
  assert.equal(typeof args.city, 'string');
  assert.ok(Number.isInteger(args.days) && args.days >= 1, `days: ${args.days}`);
}

async function collectText(stream) {
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  return text;
}

describe('text', () => {
  for (const model of UPSTREAMS) {
    test(`from ${model}`, async () => {
      const { data: r, response, request_id } = await client()
        .chat.completions.create({ model, messages: MSG })
        .withResponse();
      assert.equal(r.choices[0].message.content, ECHO);
      assert.equal(r.choices[0].finish_reason, 'stop');
      assert.equal(r.model, model);
      assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
      assert.equal(response.headers.get('x-steadfast-attempts'), '1');
      assert.equal(response.headers.get('x-steadfast-target'), model);
      assert.ok(request_id);
      assert.equal(request_id, response.headers.get('x-request-id'));
      assert.equal(r._request_id, request_id);
      const provider = model.split(':')[0];
      assert.deepEqual((await gw.sim.journal()).map((e) => e.provider), [provider]);
    });
  }
});

describe('stream', () => {
  for (const model of UPSTREAMS) {
    test(`with usage from ${model}`, async () => {
      const stream = await client().chat.completions.create({
        model,
        messages: MSG,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
      assert.equal(text, ECHO);
      const finishes = chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0].finish_reason);
      assert.deepEqual(finishes, ['stop']);
      const last = chunks.at(-1);
      assert.deepEqual(last.choices, []);
      assert.equal(last.usage.completion_tokens, 4);
    });
  }
});

describe('tools', () => {
  for (const model of UPSTREAMS) {
    test(`a tool call from ${model}`, async () => {
      const r = await client().chat.completions.create({ model, messages: MSG, tools: TOOLS, tool_choice: 'required' });
      assert.equal(r.choices[0].finish_reason, 'tool_calls');
      assertWeatherCall(r.choices[0].message.tool_calls[0]);
    });
  }

  for (const model of [FAMILIES.openai, FAMILIES.anthropic, FAMILIES.gemini]) {
    test(`a streamed tool call from ${model}, accumulated by the stream helper`, async () => {
      const s = client().chat.completions.stream({ model, messages: MSG, tools: TOOLS, tool_choice: 'required' });
      const done = [];
      s.on('tool_calls.function.arguments.done', (e) => done.push(e.name));
      let deltas = 0;
      for await (const chunk of s) deltas += chunk.choices[0]?.delta?.tool_calls?.length ?? 0;
      const final = await s.finalChatCompletion();
      assert.ok(deltas >= 1, 'the tool call arrived as stream deltas');
      assert.deepEqual(done, ['get_weather']);
      assert.equal(final.choices[0].finish_reason, 'tool_calls');
      assertWeatherCall(final.choices[0].message.tool_calls[0]);
    });
  }

  test('a tool result round trip', async () => {
    const c = client();
    const model = FAMILIES.anthropic;
    const first = await c.chat.completions.create({ model, messages: MSG, tools: TOOLS, tool_choice: 'required' });
    const message = first.choices[0].message;
    const call = message.tool_calls[0];
    const messages = [
      ...MSG,
      { role: 'assistant', content: message.content, tool_calls: message.tool_calls },
      { role: 'tool', tool_call_id: call.id, content: 'sunny' },
    ];
    const second = await c.chat.completions.create({ model, messages, tools: TOOLS });
    assert.equal(second.choices[0].message.content, 'Tool result: sunny');
  });
});

describe('structured output', () => {
  for (const model of [FAMILIES.openai, FAMILIES.anthropic, FAMILIES.gemini]) {
    test(`response_format json_schema, parsed, from ${model}`, async () => {
      const r = await client().chat.completions.parse({ model, messages: MSG, response_format: BOOK });
      const parsed = r.choices[0].message.parsed;
      assert.deepEqual(Object.keys(parsed).sort(), ['author', 'title']);
      assert.equal(typeof parsed.title, 'string');
      assert.equal(typeof parsed.author, 'string');
      assert.deepEqual(parsed, JSON.parse(r.choices[0].message.content));
    });
  }

  test('an invalid structured output is retried invisibly', async () => {
    await gw.sim.scenario([
      { requests: [1], action: { type: 'structured', json: { title: 'No author' } } },
      { requests: [2], action: { type: 'structured', json: { title: 'T', author: 'A' } } },
    ]);
    const { data: r, response } = await client()
      .chat.completions.parse({ model: FAMILIES.openai, messages: MSG, response_format: BOOK })
      .withResponse();
    assert.deepEqual(r.choices[0].message.parsed, { title: 'T', author: 'A' });
    assert.equal(response.headers.get('x-steadfast-attempts'), '2');
  });
});

describe('retries and fallbacks the client cannot see', () => {
  test('a retry', async () => {
    await gw.sim.scenario([
      { requests: [1], action: { type: 'rate_limit', retry_after_ms: 20 } },
      { requests: [2], action: { type: 'overloaded', retry_after_ms: 20 } },
    ]);
    const { data: r, response } = await client()
      .chat.completions.create({ model: FAMILIES.openai, messages: MSG })
      .withResponse();
    assert.equal(r.choices[0].message.content, ECHO);
    assert.equal(response.headers.get('x-steadfast-attempts'), '3');
    assert.deepEqual((await gw.sim.journal()).map((e) => e.status), [429, 503, 200]);
  });

  test('a fallback', async () => {
    await gw.sim.scenario([{ provider: 'openai', action: { type: 'server_error', retry_after_ms: 10 } }]);
    const model = 'openai:gpt-4o-mini,anthropic:claude-3-5-haiku-latest';
    const { data: r, response } = await client().chat.completions.create({ model, messages: MSG }).withResponse();
    assert.equal(r.choices[0].message.content, ECHO);
    assert.equal(response.headers.get('x-steadfast-target'), 'anthropic:claude-3-5-haiku-latest');
    assert.equal(response.headers.get('x-steadfast-attempts'), '5');
    assert.deepEqual((await gw.sim.journal()).map((e) => e.provider), [...Array(4).fill('openai'), 'anthropic']);
  });

  test('a streamed fallback', async () => {
    await gw.sim.scenario([{ provider: 'openai', action: { type: 'overloaded', retry_after_ms: 10 } }]);
    const model = 'openai:gpt-4o-mini,gemini:gemini-2.0-flash';
    const { data: stream, response } = await client()
      .chat.completions.create({ model, messages: MSG, stream: true })
      .withResponse();
    assert.equal(response.headers.get('x-steadfast-target'), 'gemini:gemini-2.0-flash');
    assert.equal(response.headers.get('x-steadfast-attempts'), '5');
    assert.equal(await collectText(stream), ECHO);
  });

  test('a stream retried before its commit point', async () => {
    await gw.sim.scenario([
      { requests: [1], action: { type: 'server_error', retry_after_ms: 20 } },
      { requests: [2], action: { type: 'model', reset_after: 1 } },
    ]);
    const { data: stream, response } = await client()
      .chat.completions.create({ model: FAMILIES.openai, messages: MSG, stream: true })
      .withResponse();
    assert.equal(response.headers.get('x-steadfast-attempts'), '3');
    assert.equal(await collectText(stream), ECHO);
  });
});

describe('a mid-stream upstream failure is an error, never a truncated answer', () => {
  test('an upstream error event after the commit point', async () => {
    await gw.sim.scenario([{ action: { type: 'model', error_after: 3, stream_error: 'server_error' } }]);
    const stream = await client().chat.completions.create({ model: FAMILIES.openai, messages: MSG, stream: true });
    let received = '';
    const e = await rejection(
      (async () => {
        for await (const chunk of stream) received += chunk.choices[0]?.delta?.content ?? '';
      })(),
    );
    assert.ok(e instanceof OpenAI.APIError, `an APIError, got ${e}`);
    assert.ok(e.message);
    assert.equal(received, 'Echo: hello');
    assert.equal((await gw.sim.journal()).length, 1, 'a POST is never replayed after the commit point');
  });

  test('a cut connection from another family', async () => {
    await gw.sim.scenario([{ action: { type: 'model', cut_after: 4 } }]);
    const stream = await client().chat.completions.create({ model: FAMILIES.anthropic, messages: MSG, stream: true });
    const e = await rejection(collectText(stream));
    assert.ok(e instanceof OpenAI.APIError, `an APIError, got ${e}`);
    assert.ok(e.message);
  });

  test('through the stream helper', async () => {
    await gw.sim.scenario([{ action: { type: 'model', error_after: 3, stream_error: 'overloaded' } }]);
    const s = client().chat.completions.stream({ model: FAMILIES.gemini, messages: MSG });
    const e = await rejection(s.finalChatCompletion());
    assert.ok(e instanceof OpenAI.APIError, `an APIError, got ${e}`);
  });
});

describe('typed errors', () => {
  test('429 is a RateLimitError with the retry-after header', async () => {
    await gw.sim.scenario([{ action: { type: 'rate_limit', retry_after: 7, should_retry: false } }]);
    const e = await rejection(client().chat.completions.create({ model: FAMILIES.openai, messages: MSG }));
    assert.ok(e instanceof OpenAI.RateLimitError, `a RateLimitError, got ${e}`);
    assert.equal(e.status, 429);
    assert.equal(e.code, 'rate_limit_exceeded');
    assert.equal(e.headers.get('retry-after'), '7');
    assert.equal(e.headers.get('x-steadfast-attempts'), '1');
  });

  test('429 from another family is a RateLimitError with the retry-after header', async () => {
    await gw.sim.scenario([{ action: { type: 'rate_limit', retry_after: 3, should_retry: false } }]);
    const e = await rejection(client().chat.completions.create({ model: FAMILIES.anthropic, messages: MSG }));
    assert.ok(e instanceof OpenAI.RateLimitError, `a RateLimitError, got ${e}`);
    assert.equal(e.headers.get('retry-after'), '3');
  });

  test('5xx after every retry is an InternalServerError', async () => {
    await gw.sim.scenario([{ action: { type: 'server_error', retry_after_ms: 5 } }]);
    const e = await rejection(client().chat.completions.create({ model: FAMILIES.gemini, messages: MSG }));
    assert.ok(e instanceof OpenAI.InternalServerError, `an InternalServerError, got ${e}`);
    assert.equal(e.status, 500);
    assert.equal(e.headers.get('x-steadfast-attempts'), '4');
    assert.match(e.message, /4 attempts/);
  });

  const upstream = [
    ['auth', OpenAI.AuthenticationError, 401],
    ['permission_denied', OpenAI.PermissionDeniedError, 403],
    ['not_found', OpenAI.NotFoundError, 404],
    ['bad_request', OpenAI.BadRequestError, 400],
    ['context_window_exceeded', OpenAI.BadRequestError, 400],
    ['quota_exhausted', OpenAI.RateLimitError, 429],
  ];
  for (const [kind, cls, status] of upstream) {
    test(`an upstream ${kind} is a ${cls.name}`, async () => {
      await gw.sim.scenario([{ action: { type: kind } }]);
      const e = await rejection(client().chat.completions.create({ model: FAMILIES.openai, messages: MSG }));
      assert.ok(e instanceof cls, `a ${cls.name}, got ${e}`);
      assert.equal(e.status, status);
      assert.ok(e.error?.message, 'the body carries a message');
    });
  }

  test('a missing key is a 401 AuthenticationError from the gateway', async () => {
    // No bearer token: the SDK's key replaced by another scheme.
    const c = client({ defaultHeaders: { Authorization: 'Basic Zm9vOmJhcg==' } });
    const e = await rejection(c.chat.completions.create({ model: FAMILIES.openai, messages: MSG }));
    assert.ok(e instanceof OpenAI.AuthenticationError, `an AuthenticationError, got ${e}`);
    assert.equal(e.status, 401);
    assert.match(e.message, /API key/);
    assert.deepEqual(await gw.sim.journal(), []);
  });

  test('an unknown parameter is a 400 BadRequestError naming it', async () => {
    const e = await rejection(client().chat.completions.create({ model: FAMILIES.openai, messages: MSG, frobnicate: 1 }));
    assert.ok(e instanceof OpenAI.BadRequestError, `a BadRequestError, got ${e}`);
    assert.equal(e.status, 400);
    assert.match(e.message, /frobnicate/);
    assert.deepEqual(await gw.sim.journal(), []);
  });

  test('an unsupported parameter is a 400 BadRequestError naming it', async () => {
    const e = await rejection(client().chat.completions.create({ model: FAMILIES.openai, messages: MSG, n: 2 }));
    assert.ok(e instanceof OpenAI.BadRequestError, `a BadRequestError, got ${e}`);
    assert.equal(e.param, 'n');
    const l = await rejection(client().chat.completions.create({ model: FAMILIES.openai, messages: MSG, logprobs: true }));
    assert.ok(l instanceof OpenAI.BadRequestError, `a BadRequestError, got ${l}`);
    assert.match(l.message, /logprobs/);
    assert.deepEqual(await gw.sim.journal(), []);
  });

  test('an unknown model is a 404 NotFoundError', async () => {
    const e = await rejection(client().chat.completions.create({ model: 'gpt-4o-mini', messages: MSG }));
    assert.ok(e instanceof OpenAI.NotFoundError, `a NotFoundError, got ${e}`);
    assert.equal(e.code, 'model_not_found');
  });
});

test('models list', async () => {
  const ids = [];
  for await (const m of client().models.list()) ids.push(m.id);
  assert.ok(ids.includes(FAMILIES.openai) && ids.includes(FAMILIES.anthropic), ids.join(', '));
});

test('the key never reaches the logs', async () => {
  await client().chat.completions.create({ model: FAMILIES.openai, messages: MSG });
  const log = gw.log();
  assert.match(log, /steadfast_gateway::access/, 'the access log is on');
  for (const key of KEYS) assert.ok(!log.includes(key), 'a key in the gateway log');
  assert.ok(!log.includes('hello there world'), 'no prompt content in the logs');
});
