"""Identity: find the post's author among the customers, carefully, and decide
whether they may be contacted (the contact policy). The CRM port and its adapters live here."""
