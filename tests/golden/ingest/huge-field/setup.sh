# a 10 MiB single field, then a good row
awk 'BEGIN { printf "id,created_date,stage,amount\nA,2024-01-01,Prospecting,\"";
             for (i = 0; i < 163840; i++) printf "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
             printf "\"\nB,2024-01-02,Prospecting,5\n" }' > big.csv
