//! The LLM gateway's reading of an agent's request body, on each API: a body it refuses gets a
//! message; a body it takes keeps its meaning when the gateway splices in the usage request; the
//! cassette key is stable; and the stand-in model answers it with a well-formed reply whose
//! usage the gateway's own stream meter reads back.
#![no_main]

use agentpod_llm_gateway::LlmApi;
use agentpod_llm_gateway::fuzzing::{meter_stream, read_request, read_usage, stand_in_reply};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const APIS: [LlmApi; 3] = [
    LlmApi::OpenAiChat,
    LlmApi::OpenAiResponses,
    LlmApi::AnthropicMessages,
];

fuzz_target!(|data: &[u8]| {
    for api in APIS {
        check(api, data);
    }
});

fn check(api: LlmApi, body: &[u8]) {
    let read = match read_request(api, body) {
        Ok(read) => read,
        Err(message) => {
            assert!(!message.is_empty());
            return;
        }
    };
    assert!(read.parsed.is_object());
    assert_eq!(
        read.cassette_key,
        read_request(api, body).unwrap().cassette_key
    );
    // What the upstream (here the stand-in) receives.
    let upstream = match &read.with_usage {
        Some(spliced) => {
            let spliced: Value = serde_json::from_slice(spliced)
                .unwrap_or_else(|error| panic!("the spliced body is not json ({error})"));
            assert_eq!(
                spliced.pointer("/stream_options/include_usage"),
                Some(&Value::Bool(true)),
                "{spliced}"
            );
            assert_eq!(
                without_stream_options(&spliced),
                without_stream_options(&read.parsed),
                "the splice changed more than stream_options"
            );
            spliced
        }
        None => read.parsed.clone(),
    };
    let (content_type, chunks) = stand_in_reply(api, &upstream);
    if read.streamed {
        assert_eq!(content_type, "text/event-stream");
        let chunks: Vec<&[u8]> = chunks.iter().map(|chunk| &chunk[..]).collect();
        let metered = meter_stream(api, read.wants_usage, &chunks);
        assert!(metered.completed, "the stand-in's stream did not complete");
        assert_eq!(metered.error, None);
        assert!(
            metered.usage.is_some(),
            "the stand-in's stream has no usage"
        );
        assert!(metered.cost_usd.is_some(), "the stand-in model has a price");
    } else {
        assert_eq!(content_type, "application/json");
        let answer: Value = serde_json::from_slice(&chunks.concat()).expect("the answer is json");
        assert!(read_usage(api, &answer).is_some(), "{answer}");
    }
}

fn without_stream_options(value: &Value) -> Value {
    let mut value = value.clone();
    if let Some(object) = value.as_object_mut() {
        object.remove("stream_options");
    }
    value
}
