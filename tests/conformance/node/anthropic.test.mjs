// anthropic-sdk-typescript against `steadfast gateway --sim`: the Messages API in front of every
// upstream family, the real stream event sequence, and the SDK's typed errors. Mirrors
// ../test_gateway_anthropic.py; the SDK's own retries are off (maxRetries: 0), so what is checked is
// the gateway's answer.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';
import { jsonSchemaOutputFormat } from '@anthropic-ai/sdk/helpers/json-schema';

import { ECHO, FAMILIES, KEYS, MSG, rejection, startGateway } from './support.mjs';

const KEY = KEYS[1];
const UPSTREAMS = [FAMILIES.anthropic, ...Object.values(FAMILIES).filter((m) => m !== FAMILIES.anthropic)];
const TOOLS = [
  {
    name: 'get_weather',
    description: 'Weather.',
    input_schema: {
      type: 'object',
      properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } },
      required: ['city', 'days'],
    },
  },
];
const BOOK = {
  type: 'object',
  properties: { title: { type: 'string' }, author: { type: 'string' } },
  required: ['title', 'author'],
  additionalProperties: false,
};
const RAW_EVENTS = new Set([
  'message_start',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'message_delta',
  'message_stop',
]);

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
  return new Anthropic({ baseURL: gw.url, apiKey: KEY, maxRetries: 0, ...options });
}

function assertWeatherUse(message) {
  assert.equal(message.stop_reason, 'tool_use');
  const block = message.content.find((b) => b.type === 'tool_use');
  assert.ok(block, 'a tool_use block');
  assert.equal(block.name, 'get_weather');
  assert.equal(typeof block.input.city, 'string');
  assert.ok(Number.isInteger(block.input.days) && block.input.days >= 1, `days: ${block.input.days}`);
}

describe('text', () => {
  for (const model of UPSTREAMS) {
    test(`from ${model}`, async () => {
      const { data: m, response, request_id } = await client()
        .messages.create({ model, max_tokens: 64, messages: MSG })
        .withResponse();
      assert.equal(m.content[0].type, 'text');
      assert.equal(m.content[0].text, ECHO);
      assert.equal(m.stop_reason, 'end_turn');
      assert.equal(m.usage.output_tokens, 4);
      assert.equal(response.headers.get('x-steadfast-attempts'), '1');
      assert.equal(response.headers.get('x-steadfast-target'), model);
      assert.ok(request_id);
      assert.equal(request_id, response.headers.get('request-id'));
      assert.equal(m._request_id, request_id);
    });
  }
});

describe('stream', () => {
  for (const model of UPSTREAMS) {
    test(`the event sequence from ${model}`, async () => {
      const s = client().messages.stream({ model, max_tokens: 64, messages: MSG });
      const events = [];
      let text = '';
      s.on('text', (delta) => {
        text += delta;
      });
      for await (const event of s) events.push(event.type);
      const final = await s.finalMessage();
      assert.equal(text, ECHO);
      assert.equal(final.content[0].text, ECHO);
      assert.equal(final.stop_reason, 'end_turn');
      assert.equal(final.usage.output_tokens, 4);
      const raw = events.filter((e) => RAW_EVENTS.has(e));
      assert.deepEqual(raw.slice(0, 2), ['message_start', 'content_block_start']);
      assert.deepEqual(raw.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
      assert.deepEqual(new Set(raw.slice(2, -3)), new Set(['content_block_delta']));
    });
  }
});

describe('tools', () => {
  for (const model of [FAMILIES.anthropic, FAMILIES.openai, FAMILIES.cohere]) {
    test(`tool use from ${model}`, async () => {
      const m = await client().messages.create({
        model,
        max_tokens: 64,
        messages: MSG,
        tools: TOOLS,
        tool_choice: { type: 'any' },
      });
      assertWeatherUse(m);
    });
  }

  for (const model of [FAMILIES.anthropic, FAMILIES.openai, FAMILIES.gemini]) {
    test(`streamed tool use from ${model}`, async () => {
      const s = client().messages.stream({
        model,
        max_tokens: 64,
        messages: MSG,
        tools: TOOLS,
        tool_choice: { type: 'tool', name: 'get_weather' },
      });
      let jsonDeltas = 0;
      s.on('inputJson', () => {
        jsonDeltas += 1;
      });
      const final = await s.finalMessage();
      assert.ok(jsonDeltas >= 1, 'the tool input arrived as input_json_delta events');
      assertWeatherUse(final);
    });
  }

  test('a tool result round trip', async () => {
    const c = client();
    const model = FAMILIES.openai;
    const first = await c.messages.create({ model, max_tokens: 64, messages: MSG, tools: TOOLS, tool_choice: { type: 'any' } });
    const use = first.content.find((b) => b.type === 'tool_use');
    const messages = [
      ...MSG,
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] },
    ];
    const second = await c.messages.create({ model, max_tokens: 64, messages, tools: TOOLS });
    assert.equal(second.content[0].text, 'Tool result: sunny');
  });
});

describe('structured output', () => {
  for (const model of [FAMILIES.anthropic, FAMILIES.openai, FAMILIES.gemini]) {
    test(`output_config.format json_schema, parsed, from ${model}`, async () => {
      const m = await client().messages.parse({
        model,
        max_tokens: 256,
        messages: MSG,
        output_config: { format: jsonSchemaOutputFormat(BOOK) },
      });
      const parsed = m.parsed_output;
      assert.deepEqual(Object.keys(parsed).sort(), ['author', 'title']);
      assert.equal(typeof parsed.title, 'string');
      assert.equal(typeof parsed.author, 'string');
    });
  }
});

describe('retries and fallbacks the client cannot see', () => {
  test('a retry', async () => {
    await gw.sim.scenario([{ requests: [1, 2], action: { type: 'overloaded', retry_after_ms: 20 } }]);
    const { data: m, response } = await client()
      .messages.create({ model: FAMILIES.anthropic, max_tokens: 64, messages: MSG })
      .withResponse();
    assert.equal(m.content[0].text, ECHO);
    assert.equal(response.headers.get('x-steadfast-attempts'), '3');
  });

  test('a fallback', async () => {
    await gw.sim.scenario([{ provider: 'anthropic', action: { type: 'server_error', retry_after_ms: 10 } }]);
    const model = 'anthropic:claude-3-5-sonnet-latest,mistral:mistral-small-latest';
    const { data: m, response } = await client().messages.create({ model, max_tokens: 64, messages: MSG }).withResponse();
    assert.equal(m.content[0].text, ECHO);
    assert.equal(response.headers.get('x-steadfast-target'), 'mistral:mistral-small-latest');
    assert.equal(response.headers.get('x-steadfast-attempts'), '5');
    assert.deepEqual((await gw.sim.journal()).map((e) => e.provider), [...Array(4).fill('anthropic'), 'mistral']);
  });

  test('a streamed fallback', async () => {
    await gw.sim.scenario([{ provider: 'anthropic', action: { type: 'overloaded' } }]);
    const model = 'anthropic:claude-3-5-sonnet-latest,openai:gpt-4o-mini';
    const { data: stream, response } = await client()
      .messages.create({ model, max_tokens: 64, messages: MSG, stream: true })
      .withResponse();
    assert.equal(response.headers.get('x-steadfast-target'), 'openai:gpt-4o-mini');
    let text = '';
    for await (const e of stream) if (e.type === 'content_block_delta') text += e.delta.text;
    assert.equal(text, ECHO);
  });
});

describe('a mid-stream upstream failure is an error, never a truncated answer', () => {
  test('an upstream error event after the commit point', async () => {
    await gw.sim.scenario([{ action: { type: 'model', error_after: 4, stream_error: 'overloaded' } }]);
    const s = client().messages.stream({ model: FAMILIES.openai, max_tokens: 64, messages: MSG });
    let received = '';
    s.on('text', (delta) => {
      received += delta;
    });
    const e = await rejection(s.finalMessage());
    assert.ok(e instanceof Anthropic.APIError, `an APIError, got ${e}`);
    assert.equal(e.error?.type, 'error', 'the body of an `event: error`');
    assert.equal(e.error.error?.type, 'overloaded_error', 'the upstream said overloaded');
    assert.ok(e.error.error?.message);
    assert.ok(received.startsWith('Echo:'), received);
    assert.notEqual(received, ECHO);
    assert.equal((await gw.sim.journal()).length, 1, 'a POST is never replayed after the commit point');
  });

  test('a cut connection from another family', async () => {
    await gw.sim.scenario([{ action: { type: 'model', cut_after: 2 } }]);
    const stream = await client().messages.create({ model: FAMILIES.openai, max_tokens: 64, messages: MSG, stream: true });
    const e = await rejection(
      (async () => {
        for await (const _event of stream);
      })(),
    );
    assert.ok(e instanceof Anthropic.APIError, `an APIError, got ${e}`);
    assert.ok(e.message);
  });
});

describe('typed errors', () => {
  test('429 is a RateLimitError with the retry-after header', async () => {
    await gw.sim.scenario([{ action: { type: 'rate_limit', retry_after: 9, should_retry: false } }]);
    const e = await rejection(client().messages.create({ model: FAMILIES.openai, max_tokens: 64, messages: MSG }));
    assert.ok(e instanceof Anthropic.RateLimitError, `a RateLimitError, got ${e}`);
    assert.equal(e.status, 429);
    assert.equal(e.headers.get('retry-after'), '9');
    assert.equal(e.error.error.type, 'rate_limit_error');
  });

  test('529 after every retry is an OverloadedError', async () => {
    await gw.sim.scenario([{ action: { type: 'overloaded' } }]);
    const e = await rejection(client().messages.create({ model: FAMILIES.anthropic, max_tokens: 64, messages: MSG }));
    assert.ok(e instanceof Anthropic.OverloadedError, `an OverloadedError, got ${e}`);
    assert.ok(e instanceof Anthropic.InternalServerError);
    assert.equal(e.status, 529);
    assert.equal(e.headers.get('x-steadfast-attempts'), '4');
  });

  test('500 after every retry is an InternalServerError', async () => {
    await gw.sim.scenario([{ action: { type: 'server_error', retry_after_ms: 5 } }]);
    const e = await rejection(client().messages.create({ model: FAMILIES.cohere, max_tokens: 64, messages: MSG }));
    assert.ok(e instanceof Anthropic.InternalServerError, `an InternalServerError, got ${e}`);
    assert.equal(e.status, 500);
    assert.equal(e.headers.get('x-steadfast-attempts'), '4');
  });

  const upstream = [
    ['server_error', Anthropic.InternalServerError],
    ['auth', Anthropic.AuthenticationError],
    ['permission_denied', Anthropic.PermissionDeniedError],
    ['not_found', Anthropic.NotFoundError],
    ['bad_request', Anthropic.BadRequestError],
  ];
  for (const [kind, cls] of upstream) {
    test(`an upstream ${kind} is a ${cls.name}`, async () => {
      await gw.sim.scenario([{ action: { type: kind } }]);
      const e = await rejection(client().messages.create({ model: FAMILIES.gemini, max_tokens: 64, messages: MSG }));
      assert.ok(e instanceof cls, `a ${cls.name}, got ${e}`);
      assert.ok(e.error?.error?.message);
    });
  }

  test('a missing key is a 401 AuthenticationError from the gateway', async () => {
    const c = client({ defaultHeaders: { 'x-api-key': null, Authorization: 'Basic Zm9vOmJhcg==' } });
    const e = await rejection(c.messages.create({ model: FAMILIES.openai, max_tokens: 64, messages: MSG }));
    assert.ok(e instanceof Anthropic.AuthenticationError, `an AuthenticationError, got ${e}`);
    assert.equal(e.status, 401);
    assert.deepEqual(await gw.sim.journal(), []);
  });

  test('an unsupported parameter is a 400 BadRequestError naming it', async () => {
    const e = await rejection(client().messages.create({ model: FAMILIES.openai, max_tokens: 64, messages: MSG, top_k: 5 }));
    assert.ok(e instanceof Anthropic.BadRequestError, `a BadRequestError, got ${e}`);
    assert.equal(e.status, 400);
    assert.match(e.message, /top_k/);
    assert.deepEqual(await gw.sim.journal(), []);
  });

  test('an unknown parameter is a 400 BadRequestError naming it', async () => {
    const e = await rejection(
      client().messages.create({ model: FAMILIES.openai, max_tokens: 64, messages: MSG, frobnicate: true }),
    );
    assert.ok(e instanceof Anthropic.BadRequestError, `a BadRequestError, got ${e}`);
    assert.match(e.message, /frobnicate/);
    assert.deepEqual(await gw.sim.journal(), []);
  });
});

test('the key never reaches the logs', async () => {
  await client().messages.create({ model: FAMILIES.anthropic, max_tokens: 64, messages: MSG });
  const log = gw.log();
  assert.match(log, /steadfast_gateway::access/, 'the access log is on');
  for (const key of KEYS) assert.ok(!log.includes(key), 'a key in the gateway log');
  assert.ok(!log.includes('hello there world'), 'no prompt content in the logs');
});
