printf '[store]\ndb = from-config.db\n' > revintel.conf
