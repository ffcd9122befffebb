DROP TABLE emergency_card_tickets;
DROP TABLE emergency_cards;
