//! The LLM gateway's reading of an upstream's streamed answer, on each API: the SSE parser
//! passes every byte on unchanged, however the stream is cut into chunks, and the meter reads
//! the same usage, model and message from it without panicking or running out of memory.
#![no_main]

use agentpod_llm_gateway::LlmApi;
use agentpod_llm_gateway::fuzzing::meter_stream;
use libfuzzer_sys::fuzz_target;

const APIS: [(LlmApi, bool); 4] = [
    (LlmApi::OpenAiChat, false),
    (LlmApi::OpenAiChat, true),
    (LlmApi::OpenAiResponses, false),
    (LlmApi::AnthropicMessages, false),
];

fuzz_target!(|data: &[u8]| {
    // Cut points derived from the input, so a crash reproduces from the file alone.
    let chunk_size = 1 + data.len() % 13;
    let chunks: Vec<&[u8]> = data.chunks(chunk_size).collect();
    for (api, wants_usage) in APIS {
        let whole = meter_stream(api, wants_usage, &[data]);
        let (passed, rest) = data.split_at(whole.raw.len());
        assert_eq!(
            passed,
            &whole.raw[..],
            "the events' bytes differ from the input"
        );
        assert!(
            rest.iter().all(u8::is_ascii_whitespace),
            "bytes other than whitespace were dropped: {rest:?}"
        );
        let chunked = meter_stream(api, wants_usage, &chunks);
        assert_eq!(
            whole, chunked,
            "chunks of {chunk_size} bytes read differently"
        );
    }
});
