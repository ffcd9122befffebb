DROP TABLE portal_ceremonies;
DROP TABLE staff_sessions;
DROP TABLE staff_passkeys;
DROP TABLE staff_invites;
DROP TABLE staff;
