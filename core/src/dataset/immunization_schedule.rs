//! PLACEHOLDER — the routine immunization schedule (data table) and due/overdue computation.
