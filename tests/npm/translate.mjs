// The seed user's client: the official openai npm SDK's OpenAIRealtimeWS, text in, audio out.
// Usage: VERBATIM_API_KEY=<the server's key> node translate.mjs <http base url, e.g. http://127.0.0.1:PORT/v1> <text>
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';

const [baseURL, text] = process.argv.slice(2);
const client = new OpenAI({ apiKey: process.env.VERBATIM_API_KEY, baseURL });
const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime' }, client);
let transcript = '';
let audioBytes = 0;
const types = [];
const timer = setTimeout(() => { console.error('timeout'); process.exit(3); }, 30000);

rt.on('event', (ev) => types.push(ev.type));
rt.on('error', (err) => { console.error('error', err?.message || err); process.exit(2); });
rt.socket.on('open', () => {
  rt.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['audio'],
    audio: { output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'verse' } } } });
  rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user',
    content: [{ type: 'input_text', text }] } });
  rt.send({ type: 'response.create', response: { conversation: 'none', output_modalities: ['audio'],
    instructions: 'Translate from Spanish into English.',
    input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text }] }] } });
});
rt.on('response.output_audio.delta', (ev) => { audioBytes += Buffer.from(ev.delta, 'base64').length; });
rt.on('response.output_audio_transcript.delta', (ev) => { transcript += ev.delta; });
rt.on('response.done', (ev) => {
  clearTimeout(timer);
  console.log(JSON.stringify({ transcript, audioBytes, status: ev.response.status, types }));
  rt.close();
  process.exit(0);
});
