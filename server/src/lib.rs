//! knowledge-server
