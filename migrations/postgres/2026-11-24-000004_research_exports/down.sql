DROP TABLE research_exports;
