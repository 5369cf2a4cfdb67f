//! The one thing the baseline asks a model: a one-line summary of the ticket for its note, over
//! the OpenAI-compatible chat API at `OPENAI_BASE_URL` (the pod's LLM gateway). Its triage
//! decisions stay rules; the model call is there so a run meters what a model-using agent costs.

use serde_json::json;

/// Asks for a summary; `None` if the gateway or model is unavailable (the baseline carries on).
pub(crate) async fn summarize(
    base_url: &str,
    api_key: &str,
    model: &str,
    ticket: &str,
) -> Option<String> {
    let response = reqwest::Client::new()
        .post(format!("{}/chat/completions", base_url.trim_end_matches('/')))
        .bearer_auth(api_key)
        .json(&json!({
            "model": model,
            "messages": [
                { "role": "system", "content": "You summarise customer support tickets in one short line." },
                { "role": "user", "content": ticket },
            ],
        }))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        eprintln!("baseline-agent: the model answered {}", response.status());
        return None;
    }
    let body: serde_json::Value = response.json().await.ok()?;
    body["choices"][0]["message"]["content"]
        .as_str()
        .map(|text| text.lines().next().unwrap_or_default().to_string())
}
