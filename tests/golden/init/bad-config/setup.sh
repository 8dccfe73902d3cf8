printf '[store]\ndb =\n' > revintel.conf
