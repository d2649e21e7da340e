//! One `TestApp` method per endpoint (and a generic `request` for anything else), each returning a
//! [`Reply`] read once, so tests read as the behaviour they check.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Multipart, Reply, TestApp, User};

impl TestApp {
    // ---- generic requests -------------------------------------------------------------------

    /// Any request; `token` adds `Authorization: Bearer <token>`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<reqwest::Body>,
    ) -> Reply {
        let mut map = HeaderMap::new();
        if let Some(token) = token {
            map.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        for (name, value) in headers {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .headers(map);
        if let Some(body) = body {
            request = request.body(body);
        }
        Reply::from(request.send().await.expect("the server answers")).await
    }

    pub async fn get(&self, path: &str, user: &User) -> Reply {
        self.request(Method::GET, path, Some(&user.token), &[], None)
            .await
    }

    pub async fn delete(&self, path: &str, user: &User) -> Reply {
        self.request(Method::DELETE, path, Some(&user.token), &[], None)
            .await
    }

    /// A GET as `user` with extra request headers.
    pub async fn get_with_headers(
        &self,
        path: &str,
        user: &User,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.request(Method::GET, path, Some(&user.token), headers, None)
            .await
    }

    pub async fn post_json(&self, path: &str, user: &User, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).unwrap();
        self.post_raw(path, user, "application/json", bytes).await
    }

    /// A POST as `user` of any bytes under any content type (malformed bodies, wrong types).
    pub async fn post_raw(
        &self,
        path: &str,
        user: &User,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        self.request(
            Method::POST,
            path,
            Some(&user.token),
            &[("content-type", content_type)],
            Some(body.into()),
        )
        .await
    }

    // ---- operational endpoints --------------------------------------------------------------

    pub async fn health(&self) -> Reply {
        self.request(Method::GET, "/health", None, &[], None).await
    }
    pub async fn ready(&self) -> Reply {
        self.request(Method::GET, "/ready", None, &[], None).await
    }
    pub async fn metrics(&self) -> Reply {
        self.request(Method::GET, "/metrics", None, &[], None).await
    }
    pub async fn openapi(&self) -> Reply {
        self.request(Method::GET, "/openapi.json", None, &[], None)
            .await
    }
    pub async fn anon_token(&self) -> Reply {
        let headers = [("content-type", "application/json")];
        self.request(
            Method::POST,
            "/api/v1/stream/auth/anon",
            None,
            &headers,
            Some("{}".into()),
        )
        .await
    }

    // ---- knowledge files ----------------------------------------------------------------------

    pub async fn upload(&self, user: &User, form: Multipart) -> Reply {
        let content_type = form.content_type();
        let headers = [("content-type", content_type.as_str())];
        self.request(
            Method::POST,
            "/api/v1/knowledge/files",
            Some(&user.token),
            &headers,
            Some(form.into_bytes().into()),
        )
        .await
    }

    /// Uploads one file and returns its FileInfo, asserting the 201.
    pub async fn upload_ok(&self, user: &User, filename: &str, mime: &str, bytes: &[u8]) -> Value {
        let reply = self
            .upload(user, Multipart::new().file(filename, mime, bytes))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "upload of {filename}: {}",
            reply.text()
        );
        reply.json()
    }

    pub async fn list_files(&self, user: &User, query: &str) -> Reply {
        self.get(&format!("/api/v1/knowledge/files{query}"), user)
            .await
    }
    pub async fn get_file(&self, user: &User, id: &str) -> Reply {
        self.get(&format!("/api/v1/knowledge/files/{id}"), user)
            .await
    }
    pub async fn download(&self, user: &User, id: &str) -> Reply {
        self.get(&format!("/api/v1/knowledge/files/{id}/content"), user)
            .await
    }
    pub async fn delete_file(&self, user: &User, id: &str) -> Reply {
        self.delete(&format!("/api/v1/knowledge/files/{id}"), user)
            .await
    }
    pub async fn search(&self, user: &User, body: &Value) -> Reply {
        self.post_json("/api/v1/knowledge/search", user, body).await
    }

    // ---- R1 memory ----------------------------------------------------------------------------

    pub async fn create_memory(&self, user: &User, body: &Value) -> Reply {
        self.post_json("/api/v1/memory", user, body).await
    }
    pub async fn list_memories(&self, user: &User, query: &str) -> Reply {
        self.get(&format!("/api/v1/memory{query}"), user).await
    }
    pub async fn get_memory(&self, user: &User, id: &str) -> Reply {
        self.get(&format!("/api/v1/memory/{id}"), user).await
    }
    pub async fn delete_memory(&self, user: &User, id: &str) -> Reply {
        self.delete(&format!("/api/v1/memory/{id}"), user).await
    }
}
