//! gonogo-reports
